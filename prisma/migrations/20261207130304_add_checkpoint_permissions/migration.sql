-- CreateTable
CREATE TABLE "checkpoint_permissions" (
    "id" TEXT NOT NULL,
    "model_id" TEXT NOT NULL,
    "organization_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "checkpoint_permissions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "checkpoint_permissions_project_id_idx" ON "checkpoint_permissions"("project_id");

-- CreateIndex
CREATE UNIQUE INDEX "checkpoint_permissions_model_id_project_id_key" ON "checkpoint_permissions"("model_id", "project_id");

-- AddForeignKey
ALTER TABLE "checkpoint_permissions" ADD CONSTRAINT "checkpoint_permissions_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE CASCADE ON UPDATE CASCADE;
