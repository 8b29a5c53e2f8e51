import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';

import type { GraderConfigIssue } from '../errors';
import { SampleGradingError } from '../errors';
import type { JudgeClient } from '../judge/judge-client';
import { renderTemplate } from '../template';
import type { GraderItem, GraderSample, JudgeTokenUsage } from '../types';
import {
  checkKnownKeys,
  checkString,
  checkTemplateText,
  isRecord,
  type GraderTypeDefinition,
  type RawGrade,
  type TemplateField,
} from './definition';

const ROLES = ['user', 'assistant', 'system', 'developer'];
const SAMPLING_KEYS = ['max_completions_tokens', 'reasoning_effort', 'seed', 'temperature', 'top_p'];

// ---- the input messages ---------------------------------------------------------------------------------------

function validateContentPart(part: unknown, param: string, issues: GraderConfigIssue[]): void {
  if (typeof part === 'string') {
    checkTemplateText(part, param, issues);
    return;
  }
  if (!isRecord(part)) {
    issues.push({ param, message: 'content must be a string, an input part or an array of them' });
    return;
  }
  if (part.type === 'input_text' || part.type === 'output_text') {
    checkString(part, 'text', param, issues);
    if (typeof part.text === 'string') checkTemplateText(part.text, `${param}.text`, issues);
  } else if (part.type === 'input_image') {
    checkString(part, 'image_url', param, issues);
    if (typeof part.image_url === 'string') checkTemplateText(part.image_url, `${param}.image_url`, issues);
  } else {
    issues.push({
      param: `${param}.type`,
      message: `content part type must be input_text, output_text or input_image; got ${JSON.stringify(part.type)}`,
    });
  }
}

function validateInput(config: Record<string, unknown>, param: string, issues: GraderConfigIssue[]): void {
  const input = config.input;
  if (!Array.isArray(input) || input.length === 0) {
    issues.push({ param: `${param}.input`, message: 'input must be a non-empty array of messages' });
    return;
  }
  input.forEach((msg, i) => {
    const p = `${param}.input.${i}`;
    if (!isRecord(msg)) {
      issues.push({ param: p, message: 'each input message must be an object {role, content}' });
      return;
    }
    if (typeof msg.role !== 'string' || !ROLES.includes(msg.role)) {
      issues.push({ param: `${p}.role`, message: `role must be one of ${ROLES.join(', ')}` });
    }
    if (msg.type !== undefined && msg.type !== 'message') {
      issues.push({ param: `${p}.type`, message: 'type must be "message" when given' });
    }
    if (Array.isArray(msg.content))
      msg.content.forEach((part, j) => validateContentPart(part, `${p}.content.${j}`, issues));
    else validateContentPart(msg.content, `${p}.content`, issues);
  });
}

function validateCommon(config: Record<string, unknown>, param: string, issues: GraderConfigIssue[]): void {
  checkString(config, 'name', param, issues, { nonEmpty: true });
  checkString(config, 'model', param, issues, { nonEmpty: true });
  validateInput(config, param, issues);
  const sp = config.sampling_params;
  if (sp !== undefined) {
    if (!isRecord(sp)) {
      issues.push({ param: `${param}.sampling_params`, message: 'sampling_params must be an object' });
    } else {
      checkKnownKeys(sp, SAMPLING_KEYS, `${param}.sampling_params`, issues);
      for (const key of ['max_completions_tokens', 'seed', 'temperature', 'top_p']) {
        const v = sp[key];
        if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) {
          issues.push({
            param: `${param}.sampling_params.${key}`,
            message: `${key} must be a number or null`,
          });
        }
      }
    }
  }
}

function contentTemplates(content: unknown, param: string): TemplateField[] {
  if (typeof content === 'string') return [{ param, template: content }];
  if (Array.isArray(content)) return content.flatMap((part, j) => contentTemplates(part, `${param}.${j}`));
  if (isRecord(content) && typeof content.text === 'string')
    return [{ param: `${param}.text`, template: content.text }];
  if (isRecord(content) && typeof content.image_url === 'string') {
    return [{ param: `${param}.image_url`, template: content.image_url }];
  }
  return [];
}

function inputTemplates(config: Record<string, unknown>, param: string): TemplateField[] {
  return (config.input as Record<string, unknown>[]).flatMap((msg, i) =>
    contentTemplates(msg.content, `${param}.input.${i}.content`),
  );
}

function renderPart(part: unknown, sample: GraderSample, item: GraderItem): ChatCompletionContentPart {
  if (typeof part === 'string') return { type: 'text', text: renderTemplate(part, sample, item) };
  const p = part as Record<string, string>;
  if (p.type === 'input_image') {
    const detail = p.detail === 'low' || p.detail === 'high' ? p.detail : 'auto';
    return { type: 'image_url', image_url: { url: renderTemplate(p.image_url, sample, item), detail } };
  }
  return { type: 'text', text: renderTemplate(p.text, sample, item) };
}

/**
 * OpenAI grader messages → chat messages: templates rendered; text-only content becomes one string (what every
 * OpenAI-compatible server accepts); content with images stays a part array (user messages).
 */
export function renderMessages(
  input: Record<string, unknown>[],
  sample: GraderSample,
  item: GraderItem,
): ChatCompletionMessageParam[] {
  return input.map((msg) => {
    const parts = (Array.isArray(msg.content) ? msg.content : [msg.content]).map((p) =>
      renderPart(p, sample, item),
    );
    const role = msg.role as 'user' | 'assistant' | 'system' | 'developer';
    const allText = parts.every((p) => p.type === 'text');
    const text = allText ? parts.map((p) => (p as { text: string }).text).join('\n') : '';
    if (role === 'user') return { role, content: allText ? text : parts };
    return { role, content: text };
  });
}

// ---- the call and its answer ----------------------------------------------------------------------------------

function samplingParams(config: Record<string, unknown>): Partial<ChatCompletionCreateParamsNonStreaming> {
  const sp = (config.sampling_params ?? {}) as Record<string, unknown>;
  const out: Partial<ChatCompletionCreateParamsNonStreaming> = {};
  if (typeof sp.temperature === 'number') out.temperature = sp.temperature;
  if (typeof sp.top_p === 'number') out.top_p = sp.top_p;
  if (typeof sp.seed === 'number') out.seed = sp.seed;
  // OpenAI's grader field is spelled `max_completions_tokens`; the chat API's is `max_completion_tokens`.
  if (typeof sp.max_completions_tokens === 'number') out.max_completion_tokens = sp.max_completions_tokens;
  if (typeof sp.reasoning_effort === 'string') {
    out.reasoning_effort = sp.reasoning_effort as ChatCompletionCreateParamsNonStreaming['reasoning_effort'];
  }
  return out;
}

const STEPS_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    properties: { description: { type: 'string' }, conclusion: { type: 'string' } },
    required: ['description', 'conclusion'],
    additionalProperties: false,
  },
};

function responseFormat(
  judge: JudgeClient,
  name: string,
  result: Record<string, unknown>,
): Pick<ChatCompletionCreateParamsNonStreaming, 'response_format'> {
  if (judge.responseFormat === 'none') return {};
  if (judge.responseFormat === 'json_object') return { response_format: { type: 'json_object' } };
  return {
    response_format: {
      type: 'json_schema',
      json_schema: {
        name,
        strict: true,
        schema: {
          type: 'object',
          properties: { steps: STEPS_SCHEMA, result },
          required: ['steps', 'result'],
          additionalProperties: false,
        },
      },
    },
  };
}

/** The judge's JSON object: the whole content, a ```json fenced block, or the outermost {…} span. */
export function parseJudgeJson(content: string): Record<string, unknown> | null {
  const candidates = [content.trim()];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(content);
  if (fenced) candidates.push(fenced[1].trim());
  const first = content.indexOf('{');
  const last = content.lastIndexOf('}');
  if (first >= 0 && last > first) candidates.push(content.slice(first, last + 1));
  for (const c of candidates) {
    try {
      const parsed: unknown = JSON.parse(c);
      if (isRecord(parsed)) return parsed;
    } catch {
      // try the next candidate
    }
  }
  return null;
}

function describeJudgeFailure(e: unknown): string {
  if (e instanceof APIConnectionTimeoutError) return 'judge request timed out';
  if (e instanceof APIConnectionError) return `judge request failed: cannot connect (${e.message})`;
  if (e instanceof APIError) return `judge returned ${e.status ?? 'no status'}: ${e.message}`;
  return `judge request failed: ${(e as Error).message ?? String(e)}`;
}

/** Calls the judge; returns its message text and usage, or throws a SampleGradingError with the OpenAI flag. */
async function callJudge(
  judge: JudgeClient,
  params: ChatCompletionCreateParamsNonStreaming,
): Promise<{ content: string; usage: Record<string, JudgeTokenUsage>; model: string }> {
  let completion: ChatCompletion;
  try {
    completion = await judge.complete(params);
  } catch (e) {
    const details = describeJudgeFailure(e);
    throw new SampleGradingError(details, {
      model_grader_server_error: true,
      model_grader_server_error_details: details,
    });
  }
  const message = completion.choices?.[0]?.message;
  const model = completion.model || params.model;
  const u = completion.usage;
  const usage: Record<string, JudgeTokenUsage> = u
    ? {
        [model]: {
          prompt_tokens: u.prompt_tokens,
          completion_tokens: u.completion_tokens,
          total_tokens: u.total_tokens,
          cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0,
        },
      }
    : {};
  if (message?.refusal) {
    throw new SampleGradingError(
      `judge refused: ${message.refusal}`,
      { model_grader_refusal_error: true },
      { tokenUsage: usage, sampledModelName: model },
    );
  }
  return { content: message?.content ?? '', usage, model };
}

type JudgeSpend = { tokenUsage: Record<string, JudgeTokenUsage>; sampledModelName: string | null };

/** The parsed `result` of a judge answer; a SampleGradingError (model_grader_parse_error) when there is none. */
function judgeResult(content: string, spend: JudgeSpend): unknown {
  const json = parseJudgeJson(content);
  if (!json || !('result' in json)) {
    throw new SampleGradingError(
      `judge answer has no JSON "result": ${content.slice(0, 200)}`,
      { model_grader_parse_error: true },
      spend,
    );
  }
  return json.result;
}

// ---- score_model ------------------------------------------------------------------------------------------------

/**
 * score_model: sends the rendered `input` with `response_format` asking for `{steps: [{description, conclusion}],
 * result: number}` (OpenAI's score-grader answer shape), reads `result` (a number, or a numeric string) and clamps
 * it to `range` (default [0, 1]).
 */
export const scoreModelGrader: GraderTypeDefinition = {
  type: 'score_model',
  validate(config, param, issues) {
    checkKnownKeys(
      config,
      ['type', 'name', 'model', 'input', 'range', 'sampling_params', 'pass_threshold'],
      param,
      issues,
    );
    validateCommon(config, param, issues);
    const range = config.range;
    if (range !== undefined) {
      const ok =
        Array.isArray(range) &&
        range.length === 2 &&
        range.every((x) => typeof x === 'number' && Number.isFinite(x));
      if (!ok || (range as number[])[0] >= (range as number[])[1]) {
        issues.push({ param: `${param}.range`, message: 'range must be [min, max] with min < max' });
      }
    }
    if (config.pass_threshold !== undefined && typeof config.pass_threshold !== 'number') {
      issues.push({ param: `${param}.pass_threshold`, message: 'pass_threshold must be a number' });
    }
  },
  create(config, deps) {
    const judge = deps.judge();
    const [lo, hi] = (config.range as [number, number] | undefined) ?? [0, 1];
    const input = config.input as Record<string, unknown>[];
    return async (sample, item): Promise<RawGrade> => {
      const params: ChatCompletionCreateParamsNonStreaming = {
        model: config.model as string,
        messages: renderMessages(input, sample, item),
        ...samplingParams(config),
        ...responseFormat(judge, 'score_model_grader', { type: 'number' }),
      };
      const { content, usage, model } = await callJudge(judge, params);
      const spend = { tokenUsage: usage, sampledModelName: model };
      const raw = judgeResult(content, spend);
      const value =
        typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(value)) {
        throw new SampleGradingError(
          `judge result is not a number: ${JSON.stringify(raw)}`,
          { model_grader_parse_error: true },
          spend,
        );
      }
      return { score: Math.min(hi, Math.max(lo, value)), tokenUsage: usage, sampledModelName: model };
    };
  },
  templates: inputTemplates,
};

// ---- label_model ------------------------------------------------------------------------------------------------

/**
 * label_model: sends the rendered `input` asking for `{steps, result: one of labels}` (an enum in the schema);
 * scores 1 when `result` is in `passing_labels`, 0 for another label; an answer outside `labels` is a parse error.
 */
export const labelModelGrader: GraderTypeDefinition = {
  type: 'label_model',
  validate(config, param, issues) {
    checkKnownKeys(
      config,
      ['type', 'name', 'model', 'input', 'labels', 'passing_labels', 'sampling_params'],
      param,
      issues,
    );
    validateCommon(config, param, issues);
    const labels = config.labels;
    const passing = config.passing_labels;
    const isStrings = (v: unknown): v is string[] =>
      Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
    if (!isStrings(labels))
      issues.push({ param: `${param}.labels`, message: 'labels must be a non-empty array of strings' });
    if (!isStrings(passing)) {
      issues.push({
        param: `${param}.passing_labels`,
        message: 'passing_labels must be a non-empty array of strings',
      });
    } else if (isStrings(labels)) {
      const extra = passing.filter((p) => !labels.includes(p));
      if (extra.length > 0) {
        issues.push({
          param: `${param}.passing_labels`,
          message: `passing_labels must be a subset of labels; not in labels: ${extra.join(', ')}`,
        });
      }
    }
  },
  create(config, deps) {
    const judge = deps.judge();
    const labels = config.labels as string[];
    const passing = new Set(config.passing_labels as string[]);
    const input = config.input as Record<string, unknown>[];
    return async (sample, item): Promise<RawGrade> => {
      const params: ChatCompletionCreateParamsNonStreaming = {
        model: config.model as string,
        messages: renderMessages(input, sample, item),
        ...samplingParams(config),
        ...responseFormat(judge, 'label_model_grader', { type: 'string', enum: labels }),
      };
      const { content, usage, model } = await callJudge(judge, params);
      const spend = { tokenUsage: usage, sampledModelName: model };
      const label = judgeResult(content, spend);
      if (typeof label !== 'string' || !labels.includes(label)) {
        throw new SampleGradingError(
          `judge label ${JSON.stringify(label)} is not one of ${labels.join(', ')}`,
          { model_grader_parse_error: true },
          spend,
        );
      }
      return { score: passing.has(label) ? 1 : 0, tokenUsage: usage, sampledModelName: model };
    };
  },
  templates: inputTemplates,
};
