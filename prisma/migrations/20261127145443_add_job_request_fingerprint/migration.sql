-- AlterTable
ALTER TABLE "fine_tuning_jobs" ADD COLUMN     "request_fingerprint" TEXT;

-- CreateIndex
CREATE INDEX "fine_tuning_jobs_organization_id_request_fingerprint_idx" ON "fine_tuning_jobs"("organization_id", "request_fingerprint");
