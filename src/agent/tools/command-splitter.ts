type Frame =
  | 'paren' // ( … ) subshell, array, function parentheses
  | 'subst' // $( … )
  | 'arith' // (( … )) and $(( … ))
  | 'param' // ${ … }
  | 'brace' // { …; }
  | 'if'
  | 'case'
  | 'loop' // for / while / until / select … done
  | 'dquote'
  | 'backtick';

interface Heredoc {
  delimiter: string;
  stripTabs: boolean;
}

const OPENERS: Record<string, Frame> = {
  if: 'if',
  case: 'case',
  for: 'loop',
  while: 'loop',
  until: 'loop',
  select: 'loop',
};
const CLOSERS: Record<string, Frame> = { fi: 'if', esac: 'case', done: 'loop' };
/** After these words the next word is again in command position. */
const KEEP_COMMAND_POSITION = new Set([
  'if',
  'then',
  'else',
  'elif',
  'do',
  'while',
  'until',
  '!',
  'time',
  'fi',
  'done',
  'esac',
]);
const WORD_END = /[\s;&|()<>'"`$\\]/;

/**
 * Splits a bash snippet into its top-level commands: those separated by newlines outside quotes,
 * parentheses, braces, compound commands (`if`, `for`, `case`, …), heredocs, line continuations and
 * lines ending in `&&`, `||` or `|`. Blank and comment-only lines are not commands. Unbalanced
 * input ends as one last command (bash will report the syntax error).
 */
export function splitTopLevelCommands(source: string): string[] {
  const commands: string[] = [];
  const stack: Frame[] = [];
  const heredocs: Heredoc[] = [];
  let start = 0;
  let hasWord = false;
  let commandPosition = true;
  let needsMore = false; // the line ended with an operator that takes another command
  let functionName = false; // after `function`: its name, then the body in command position
  let i = 0;

  const push = (frame: Frame) => stack.push(frame);
  const top = (): Frame | undefined => stack[stack.length - 1];
  const endCommand = (end: number, next: number) => {
    const text = source.slice(start, end).trim();
    if (hasWord && text !== '') commands.push(text);
    start = next;
    hasWord = false;
  };

  while (i < source.length) {
    const c = source[i];
    const frame = top();

    if (frame === 'dquote' || frame === 'backtick') {
      if (c === '\\') i += 2;
      else if ((c === '"' && frame === 'dquote') || (c === '`' && frame === 'backtick')) {
        stack.pop();
        i++;
      } else if (frame === 'dquote' && c === '`') {
        push('backtick');
        i++;
      } else if (frame === 'dquote' && c === '$') i = openDollar(i);
      else i++;
      continue;
    }

    if (c === '\n') {
      let next = i + 1;
      if (heredocs.length > 0) next = skipHeredocBodies(source, next, heredocs.splice(0));
      if (stack.length === 0 && !needsMore) {
        endCommand(source[next - 1] === '\n' ? next - 1 : next, next);
      }
      commandPosition = true;
      needsMore = false;
      i = next;
      continue;
    }
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#' && (i === 0 || /[\s;&|()]/.test(source[i - 1]))) {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    hasWord = true;

    if (c === '\\') {
      if (source[i + 1] === '\n') {
        i += 2;
        continue;
      }
      i += 2;
      commandPosition = false;
      needsMore = false;
    } else if (c === "'") {
      const end = source.indexOf("'", i + 1);
      i = end === -1 ? source.length : end + 1;
      commandPosition = false;
      needsMore = false;
    } else if (c === '"') {
      push('dquote');
      i++;
      commandPosition = false;
      needsMore = false;
    } else if (c === '`') {
      push('backtick');
      i++;
      commandPosition = false;
      needsMore = false;
    } else if (c === '$') {
      i = openDollar(i);
      commandPosition = false;
      needsMore = false;
    } else if (c === '(') {
      if (source[i + 1] === '(') {
        push('arith');
        i += 2;
      } else {
        push('paren');
        i++;
        commandPosition = true;
      }
    } else if (c === ')') {
      if (frame === 'arith' && source[i + 1] === ')') {
        stack.pop();
        i += 2;
      } else {
        if (frame === 'paren' || frame === 'subst') stack.pop(); // in a `case`: a pattern's end
        i++;
      }
      // After a case pattern comes a command; after `f()` comes the function's body.
      commandPosition = frame === 'case' || frame === 'paren';
    } else if (c === '}' && frame === 'param') {
      stack.pop();
      i++;
    } else if ((c === '<' || c === '>') && source[i + 1] === '&') {
      i += 2; // 2>&1, <&3
    } else if (c === '&' && source[i + 1] === '>') {
      i += source[i + 2] === '>' ? 3 : 2; // &> file, &>> file
    } else if (c === ';' || c === '&' || c === '|') {
      const op = source.slice(i, i + 2);
      const double = op === ';;' || op === '&&' || op === '||' || op === '|&' || op === ';&';
      needsMore = op === '&&' || op === '||' || op === '|&' || (c === '|' && !double);
      i += double ? 2 : 1;
      commandPosition = true;
    } else if (c === '<' && source[i + 1] === '<' && !stack.includes('arith')) {
      i = readHeredocStart(i);
    } else if (c === '<' || c === '>') {
      i++;
    } else {
      i = readWord(i);
    }
  }
  endCommand(source.length, source.length);
  return commands;

  function openDollar(at: number): number {
    const next = source[at + 1];
    if (next === '(' && source[at + 2] === '(') {
      push('arith');
      return at + 3;
    }
    if (next === '(') {
      push('subst');
      commandPosition = true;
      return at + 2;
    }
    if (next === '{') {
      push('param');
      return at + 2;
    }
    if (next === "'") {
      let j = at + 2;
      while (j < source.length && source[j] !== "'") j += source[j] === '\\' ? 2 : 1;
      return j + 1;
    }
    return at + 1;
  }

  function readWord(at: number): number {
    const frame = top();
    let end = at;
    while (end < source.length && !WORD_END.test(source[end])) {
      if (frame === 'param' && source[end] === '}') break;
      end++;
    }
    if (end === at) return at + 1;
    const word = source.slice(at, end);
    if (functionName) {
      functionName = false;
      commandPosition = true;
      needsMore = false;
      return end;
    }
    if (commandPosition) {
      if (word === 'function') functionName = true;
      else if (word === '{') push('brace');
      else if (word === '}' && frame === 'brace') stack.pop();
      else if (OPENERS[word]) push(OPENERS[word]);
      else if (CLOSERS[word] && frame === CLOSERS[word]) stack.pop();
    }
    commandPosition = commandPosition && (KEEP_COMMAND_POSITION.has(word) || word === '{');
    needsMore = false;
    return end;
  }

  function readHeredocStart(at: number): number {
    if (source[at + 2] === '<') return at + 3; // here-string
    let j = at + 2;
    const stripTabs = source[j] === '-';
    if (stripTabs) j++;
    while (source[j] === ' ' || source[j] === '\t') j++;
    const wordStart = j;
    while (j < source.length && !/[\s;&|()<>]/.test(source[j])) {
      if (source[j] === "'" || source[j] === '"') {
        const close = source.indexOf(source[j], j + 1);
        j = close === -1 ? source.length : close + 1;
      } else j++;
    }
    const delimiter = source.slice(wordStart, j).replace(/['"\\]/g, '');
    if (delimiter !== '') heredocs.push({ delimiter, stripTabs });
    return j;
  }
}

/** Skips heredoc bodies starting at `from` (just after a newline); returns where the next line starts. */
function skipHeredocBodies(source: string, from: number, heredocs: Heredoc[]): number {
  let at = from;
  for (const { delimiter, stripTabs } of heredocs) {
    while (at < source.length) {
      const eol = source.indexOf('\n', at);
      const line = source.slice(at, eol === -1 ? source.length : eol);
      at = eol === -1 ? source.length : eol + 1;
      if ((stripTabs ? line.replace(/^\t+/, '') : line) === delimiter) break;
    }
  }
  return at;
}
