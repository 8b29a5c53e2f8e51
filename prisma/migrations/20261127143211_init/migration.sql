-- CreateEnum
CREATE TYPE "ApiKeyRole" AS ENUM ('admin', 'member');

-- CreateEnum
CREATE TYPE "FileStatus" AS ENUM ('uploaded', 'processed', 'error');

-- CreateEnum
CREATE TYPE "ModelKind" AS ENUM ('base', 'fine_tuned', 'checkpoint');

-- CreateEnum
CREATE TYPE "ModelSource" AS ENUM ('builtin', 'imported', 'trained');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('validating_files', 'queued', 'running', 'pausing', 'paused', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "EventLevel" AS ENUM ('info', 'warn', 'error');

-- CreateEnum
CREATE TYPE "EventType" AS ENUM ('message', 'metrics');

-- CreateTable
CREATE TABLE "organizations" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "organizations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "role" "ApiKeyRole" NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "files" (
    "id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "filename" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "status" "FileStatus" NOT NULL,
    "status_details" TEXT,
    "storage_key" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "line_count" INTEGER,
    "validation" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "files_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "models" (
    "id" TEXT NOT NULL,
    "organization_id" TEXT,
    "kind" "ModelKind" NOT NULL,
    "source" "ModelSource" NOT NULL,
    "architecture" JSONB NOT NULL,
    "tokenizer" TEXT,
    "artifact_key" TEXT,
    "parent_id" TEXT,
    "job_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "fine_tuning_jobs" (
    "id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "fine_tuned_model" TEXT,
    "status" "JobStatus" NOT NULL,
    "method" JSONB NOT NULL,
    "hyperparameters" JSONB NOT NULL,
    "training_file" TEXT NOT NULL,
    "validation_file" TEXT,
    "seed" INTEGER NOT NULL,
    "suffix" TEXT,
    "metadata" JSONB,
    "error" JSONB,
    "result_files" TEXT[],
    "trained_tokens" BIGINT,
    "estimated_finish" TIMESTAMP(3),
    "current_step" INTEGER NOT NULL DEFAULT 0,
    "total_steps" INTEGER,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "worker_id" TEXT,
    "heartbeat_at" TIMESTAMP(3),
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "pause_requested" BOOLEAN NOT NULL DEFAULT false,
    "idempotency_key" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "fine_tuning_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "fine_tuning_events" (
    "id" TEXT NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "job_id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "level" "EventLevel" NOT NULL,
    "type" "EventType" NOT NULL,
    "message" TEXT NOT NULL,
    "data" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "fine_tuning_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "training_metrics" (
    "id" TEXT NOT NULL,
    "job_id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "metrics" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "training_metrics_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "checkpoints" (
    "id" TEXT NOT NULL,
    "job_id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "metrics" JSONB NOT NULL,
    "artifact_key" TEXT NOT NULL,
    "model_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "checkpoints_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys"("hash");

-- CreateIndex
CREATE INDEX "api_keys_organization_id_idx" ON "api_keys"("organization_id");

-- CreateIndex
CREATE INDEX "files_organization_id_created_at_idx" ON "files"("organization_id", "created_at");

-- CreateIndex
CREATE INDEX "models_organization_id_idx" ON "models"("organization_id");

-- CreateIndex
CREATE INDEX "models_job_id_idx" ON "models"("job_id");

-- CreateIndex
CREATE INDEX "fine_tuning_jobs_organization_id_created_at_idx" ON "fine_tuning_jobs"("organization_id", "created_at");

-- CreateIndex
CREATE INDEX "fine_tuning_jobs_status_idx" ON "fine_tuning_jobs"("status");

-- CreateIndex
CREATE UNIQUE INDEX "fine_tuning_jobs_organization_id_idempotency_key_key" ON "fine_tuning_jobs"("organization_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "fine_tuning_events_job_id_seq_idx" ON "fine_tuning_events"("job_id", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "fine_tuning_events_seq_key" ON "fine_tuning_events"("seq");

-- CreateIndex
CREATE UNIQUE INDEX "training_metrics_job_id_step_key" ON "training_metrics"("job_id", "step");

-- CreateIndex
CREATE UNIQUE INDEX "checkpoints_job_id_step_key" ON "checkpoints"("job_id", "step");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "files" ADD CONSTRAINT "files_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "models" ADD CONSTRAINT "models_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "models" ADD CONSTRAINT "models_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "models"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "models" ADD CONSTRAINT "models_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "fine_tuning_jobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fine_tuning_jobs" ADD CONSTRAINT "fine_tuning_jobs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fine_tuning_events" ADD CONSTRAINT "fine_tuning_events_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "fine_tuning_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "fine_tuning_events" ADD CONSTRAINT "fine_tuning_events_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_metrics" ADD CONSTRAINT "training_metrics_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "fine_tuning_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "training_metrics" ADD CONSTRAINT "training_metrics_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoints" ADD CONSTRAINT "checkpoints_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "fine_tuning_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoints" ADD CONSTRAINT "checkpoints_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
