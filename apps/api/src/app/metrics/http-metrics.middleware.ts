import type { NextFunction, Request, Response } from 'express';

import type { MetricsService } from './metrics.service';

/** Times every request; the route label is the matched route pattern, so ids do not explode cardinality. */
export function httpMetrics(metrics: MetricsService) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const stop = metrics.httpDuration.startTimer();
    response.on('finish', () => {
      const route = (request.route as { path?: string } | undefined)?.path;
      stop({
        method: request.method,
        route: route ? `${request.baseUrl}${route}` : 'unmatched',
        status: String(response.statusCode),
      });
    });
    next();
  };
}
