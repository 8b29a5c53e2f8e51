import { z } from 'zod';

import { idString } from './strings';

/** Cursor pagination as OpenAI does it: `after` is the id of the last item seen, `limit` 1–100 (default 20). */
export const cursorPageQuerySchema = z.object({
  after: idString().optional().describe('Id of the last object of the previous page.'),
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('Page size, 1 to 100.'),
});
export type CursorPageQuery = z.infer<typeof cursorPageQuerySchema>;

export interface ListResponse<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  first_id?: string | null;
  last_id?: string | null;
}

/** Builds a list page from `limit + 1` fetched rows: the extra row only says whether there is more. */
export function toListPage<T extends { id: string }>(rows: T[], limit: number): ListResponse<T> {
  const data = rows.slice(0, limit);
  return {
    object: 'list',
    data,
    has_more: rows.length > limit,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
  };
}
