import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';

/** The OpenAPI document, generated from the controllers and their zod schemas (committed as docs/openapi.json). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Tracetune API')
    .setDescription(
      'OpenAI-compatible fine-tuning with GRPO-λ. Point the official `openai` SDK at `<host>/v1` with a Tracetune API ' +
        'key. Admin endpoints live under `/admin`. Every error has the body `{"error":{"message","type","param","code"}}`.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A Tracetune API key: tt-…' })
    .build();
  return cleanupOpenApiDoc(SwaggerModule.createDocument(app, config));
}

export function serveOpenApi(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/openapi.json',
    customSiteTitle: 'Tracetune API',
  });
}
