// "Did you mean": the valid name closest to a mistyped one, for error messages that help.

/** Edit distance with transpositions (optimal string alignment), case-insensitive. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The valid name closest to `name`, if it is close enough to be what was meant. */
export function closest(name: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const d = distance(name, v);
    if (d < bestD) [best, bestD] = [v, d];
  }
  // Close: a few edits for the name's length, and never all of it ('9' is not a typo of '8').
  if (best !== undefined && bestD <= Math.max(1, Math.floor(name.length / 3)) && bestD < name.length) return best;
  // A truncated name (maxmem for maxmemory) is what was meant when only one valid name starts with it.
  const prefixed = name.length >= 3 ? valid.filter((v) => v.toLowerCase().startsWith(name.toLowerCase())) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** "did you mean 'x'?", or the list of valid names when none is close. */
export function hint(name: string, valid: readonly string[]): string {
  const c = closest(name, valid);
  if (c) return `did you mean '${c}'?`;
  return valid.length === 0 ? 'none are accepted here' : `valid: ${valid.join(', ')}`;
}

/** "did you mean 'x'? <label>: a, b, c" (the hint only when a name is close): for lists of valid values. */
export function validList(name: string, valid: readonly string[], label: string): string {
  const c = closest(name, valid);
  return `${c ? `did you mean '${c}'? ` : ''}${label}: ${valid.length === 0 ? 'none' : valid.join(', ')}`;
}
