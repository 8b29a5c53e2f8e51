import { errorBody, errorTypeForStatus } from './errors';
import { fineTunedModelId } from './fine-tuning-jobs';
import { newId, randomToken } from './ids';
import { toListPage } from './pagination';

describe('ids', () => {
  it('should prefix ids by kind and never repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId('file')));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^file-[A-Za-z0-9]{24}$/);
  });

  it('should produce tokens of the asked length from the base62 alphabet', () => {
    expect(randomToken(48)).toMatch(/^[A-Za-z0-9]{48}$/);
  });
});

describe('errors', () => {
  it('should map statuses to OpenAI error types', () => {
    expect(errorTypeForStatus(400)).toBe('invalid_request_error');
    expect(errorTypeForStatus(401)).toBe('authentication_error');
    expect(errorTypeForStatus(403)).toBe('permission_error');
    expect(errorTypeForStatus(404)).toBe('not_found_error');
    expect(errorTypeForStatus(413)).toBe('invalid_request_error');
    expect(errorTypeForStatus(503)).toBe('server_error');
  });

  it('should build the envelope with nulls for absent param and code', () => {
    expect(errorBody(400, 'bad', { param: 'model' })).toEqual({
      error: { message: 'bad', type: 'invalid_request_error', param: 'model', code: null },
    });
  });
});

describe('toListPage', () => {
  it('should use the extra row only to report has_more', () => {
    const rows = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
    expect(toListPage(rows, 2)).toEqual({
      object: 'list',
      data: [{ id: 'a' }, { id: 'b' }],
      has_more: true,
      first_id: 'a',
      last_id: 'b',
    });
    expect(toListPage(rows, 3).has_more).toBe(false);
  });
});

describe('fineTunedModelId', () => {
  it('should name the original base, also for a model fine-tuned from a fine-tuned model', () => {
    const first = fineTunedModelId({
      id: 'ftjob-abcdefghXYZ',
      model: 'tt-nano',
      organizationId: 'org-a',
      suffix: 'sft',
    });
    expect(first).toBe('ft:tt-nano:org-a:sft:abcdefgh');
    expect(
      fineTunedModelId({ id: 'ftjob-12345678XYZ', model: first, organizationId: 'org-a', suffix: null }),
    ).toBe('ft:tt-nano:org-a::12345678');
  });
});
