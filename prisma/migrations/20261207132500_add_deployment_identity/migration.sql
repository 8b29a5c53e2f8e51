-- CreateTable
CREATE TABLE "deployment" (
    "id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployment_pkey" PRIMARY KEY ("id")
);

-- This deployment's identity (the default Bull key prefix derives from it): random, written once.
INSERT INTO "deployment" ("id") VALUES (replace(gen_random_uuid()::text, '-', ''));
