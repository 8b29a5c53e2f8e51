import { readSse, type SseMessage } from './sse';

/** A response body that delivers the given chunks one by one, as a network would split them. */
function body(chunks: string[]): NonNullable<Response['body']> {
  const encoder = new TextEncoder();
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
        controller.close();
      },
    }),
  ).body as NonNullable<Response['body']>;
}

async function collect(chunks: string[]): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const message of readSse(body(chunks))) messages.push(message);
  return messages;
}

describe('readSse', () => {
  it('should parse named events and default unnamed ones to "message"', async () => {
    expect(await collect(['event: metrics\ndata: {"a":1}\n\n', 'data: [DONE]\n\n'])).toEqual([
      { event: 'metrics', data: '{"a":1}' },
      { event: 'message', data: '[DONE]' },
    ]);
  });

  it('should reassemble a message split across chunks, even inside a line', async () => {
    expect(await collect(['event: sta', 'tus\nda', 'ta: {"status":"run', 'ning"}\n', '\n'])).toEqual([
      { event: 'status', data: '{"status":"running"}' },
    ]);
  });

  it('should accept CRLF line ends, skip comment lines and join multi-line data with newlines', async () => {
    expect(await collect([': keep-alive\r\n\r\n', 'data: first\r\ndata: second\r\n\r\n'])).toEqual([
      { event: 'message', data: 'first\nsecond' },
    ]);
  });

  it('should keep a space that is part of the value (only the one after the colon is dropped)', async () => {
    expect(await collect(['data:  indented\n\n', 'data:tight\n\n'])).toEqual([
      { event: 'message', data: ' indented' },
      { event: 'message', data: 'tight' },
    ]);
  });

  it('should drop an unterminated message at the end of the stream', async () => {
    expect(await collect(['data: complete\n\n', 'data: cut off'])).toEqual([
      { event: 'message', data: 'complete' },
    ]);
  });

  it('should stop reading when its signal aborts', async () => {
    const controller = new AbortController();
    const encoder = new TextEncoder();
    const endless = new Response(
      new ReadableStream<Uint8Array>({
        pull(stream) {
          stream.enqueue(encoder.encode('data: tick\n\n'));
        },
      }),
    ).body as NonNullable<Response['body']>;
    let seen = 0;
    for await (const message of readSse(endless, controller.signal)) {
      expect(message.data).toBe('tick');
      seen += 1;
      if (seen === 3) controller.abort();
    }
    expect(seen).toBeGreaterThanOrEqual(3);
  });
});
