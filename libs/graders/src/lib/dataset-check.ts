import { graderTemplates } from './registry';
import { isMissing, lookupPath, templateVariables } from './template';

export interface RowVariableProblem {
  /** 1-based row number (the JSONL line number when rows are the file's lines in order). */
  row: number;
  /** Where the template sits in the grader, e.g. `grader.graders.a.reference`. */
  param: string;
  /** The variable as written, e.g. `item.answer`. */
  variable: string;
  message: string;
}

export interface RowCheckResult {
  ok: boolean;
  rowsChecked: number;
  problems: RowVariableProblem[];
  /** True when `maxProblems` cut the list short. */
  truncated: boolean;
}

/**
 * Reports every `{{item.*}}` variable of the grader that does not resolve on a row. A row is the dataset line
 * (its `messages` key, if any, is ignored: the item is the row minus messages). `{{sample.*}}` variables depend
 * on the model's answer and are not checked here. Throws `GraderConfigError` for an invalid grader.
 */
export function checkGraderAgainstRows(
  grader: unknown,
  rows: Iterable<unknown>,
  options: { maxProblems?: number } = {},
): RowCheckResult {
  const maxProblems = options.maxProblems ?? Number.POSITIVE_INFINITY;
  const vars = graderTemplates(grader).flatMap((t) =>
    templateVariables(t.template).flatMap((v) =>
      'namespace' in v && v.namespace === 'item' ? [{ param: t.param, v }] : [],
    ),
  );
  const problems: RowVariableProblem[] = [];
  let rowsChecked = 0;
  let truncated = false;
  for (const row of rows) {
    rowsChecked++;
    for (const { param, v } of vars) {
      const isObject = typeof row === 'object' && row !== null && !Array.isArray(row);
      const value = isObject ? lookupPath(row, v.path) : undefined;
      if (!isObject || isMissing(value) || value === undefined) {
        if (problems.length >= maxProblems) {
          truncated = true;
          break;
        }
        problems.push({
          row: rowsChecked,
          param,
          variable: v.raw,
          message: isObject
            ? `row ${rowsChecked} has no value for {{${v.raw}}} (used in ${param})`
            : `row ${rowsChecked} is not a JSON object`,
        });
      }
    }
    if (truncated) break;
  }
  return { ok: problems.length === 0, rowsChecked, problems, truncated };
}
