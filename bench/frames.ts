/** Naming of V8 call frames, shared by the CPU and allocation profile summaries. */
export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** `name|file:line`, with node_modules and the repository path trimmed. */
export function functionKey(frame: CallFrame): string {
  const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}|${where}`;
}

export function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  const ours = path.search(/\/(src|bench|demo|test)\//);
  return ours >= 0 ? path.slice(ours + 1) : path;
}

/** A file of ours, a package, a Node internal module, or a V8 pseudo-frame such as GC. */
export function areaOf(frame: CallFrame): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (frame.url.startsWith('node:')) return frame.url;
  const short = shortUrl(frame.url);
  if (frame.url.includes('/node_modules/')) {
    const parts = short.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return short;
}
