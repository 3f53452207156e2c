/**
 * The shell commands of a README, as a reader pastes them: every line of
 * every ```sh block, in order, without its trailing comment or `&`.
 */

/** One command of the README, with the line it is on. */
export interface ReadmeCommand {
  /** 1-based line number in the README. */
  readonly line: number;
  /** The command, without its trailing `# comment` or `&`. */
  readonly command: string;
}

/** Every command of the ```sh (or ```bash, ```shell) blocks of `markdown`, in order. */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  let inShell = false;
  let inOther = false;
  markdown.split('\n').forEach((text, k) => {
    const fence = /^```(\w*)\s*$/.exec(text.trim());
    if (fence !== null) {
      if (inShell || inOther) {
        inShell = false;
        inOther = false;
      } else if (['sh', 'bash', 'shell'].includes(fence[1]!)) inShell = true;
      else inOther = true;
      return;
    }
    if (!inShell) return;
    // A comment starts at a `#` after whitespace (a URL fragment such as `/#token=` is not one).
    const command = text
      .replace(/(^|\s)#.*$/, '')
      .trim()
      .replace(/\s*&$/, '')
      .trim();
    if (command !== '') out.push({ line: k + 1, command });
  });
  return out;
}
