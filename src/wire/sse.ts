// The reading side of text/event-stream, shared by the two HTTP clients (the CLI in Node and the web
// console in the browser): no imports, and only what both runtimes have (TextDecoder, stream readers).

/** One server-sent event: its `id:`, `event:` (default `message`) and joined `data:` lines. */
export interface ServerEvent {
  id?: string;
  event: string;
  data: string;
}

/** Events of a text/event-stream body as they arrive: blocks of `id:`/`event:`/`data:` lines, each ended by a blank line. */
export async function* parseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let at: number;
      while ((at = buf.search(/\r?\n\r?\n/)) >= 0) {
        const e = parseBlock(buf.slice(0, at));
        buf = buf.slice(at).replace(/^\r?\n\r?\n/, '');
        if (e) yield e;
      }
    }
  } finally {
    // A consumer that stops early (an `end` event, an abort) lets go of the connection.
    await reader.cancel().catch(() => undefined);
  }
}

/** One block's fields; undefined for a block that carries nothing (comments, keep-alives). */
function parseBlock(block: string): ServerEvent | undefined {
  const e: ServerEvent = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'id') e.id = value;
    else if (field === 'event') e.event = value;
    else if (field === 'data') data.push(value);
  }
  e.data = data.join('\n');
  return data.length > 0 || e.event !== 'message' ? e : undefined;
}
