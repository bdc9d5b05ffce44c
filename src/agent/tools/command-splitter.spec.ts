import { splitTopLevelCommands } from './command-splitter';

describe('splitTopLevelCommands', () => {
  it.each([
    ['ls -la', ['ls -la']],
    ['ls && pwd; echo done', ['ls && pwd; echo done']],
    ['for i in 1 2; do\n  echo $i\ndone', ['for i in 1 2; do\n  echo $i\ndone']],
    ['while true\ndo\n  sleep 1\ndone', ['while true\ndo\n  sleep 1\ndone']],
    [
      'if [ -f x ]; then\n  cat x\nelse\n  echo no\nfi',
      ['if [ -f x ]; then\n  cat x\nelse\n  echo no\nfi'],
    ],
    ["cat <<'EOF' > f.txt\nline 1\nls\nEOF", ["cat <<'EOF' > f.txt\nline 1\nls\nEOF"]],
    ['cat <<-END\n\techo x\n\tEND', ['cat <<-END\n\techo x\n\tEND']],
    ["echo 'a\nb'", ["echo 'a\nb'"]],
    [
      'python -c "\nimport sys\nprint(sys.argv)\n"',
      ['python -c "\nimport sys\nprint(sys.argv)\n"'],
    ],
    ['echo one \\\n  two', ['echo one \\\n  two']],
    ['npm test 2>&1 |\n  tail -5', ['npm test 2>&1 |\n  tail -5']],
    ['make &&\nmake install', ['make &&\nmake install']],
    ['# install first\nnpm ci\n\n', ['npm ci']],
    ['f() {\n  echo hi\n}', ['f() {\n  echo hi\n}']],
    ['function g {\n  echo hi\n}', ['function g {\n  echo hi\n}']],
    [
      'case "$x" in\n  a) echo a;;\n  (b) echo b;;\nesac',
      ['case "$x" in\n  a) echo a;;\n  (b) echo b;;\nesac'],
    ],
    ['echo $(\n  date\n)', ['echo $(\n  date\n)']],
    ['(\n  cd src\n  ls\n)', ['(\n  cd src\n  ls\n)']],
    ['echo $(( 1 << 2 ))', ['echo $(( 1 << 2 ))']],
    ['arr=(\n  a\n  b\n)', ['arr=(\n  a\n  b\n)']],
    ['echo "${HOME}" &> out.log', ['echo "${HOME}" &> out.log']],
  ])('keeps %j as one command', (source, expected) => {
    expect(splitTopLevelCommands(source)).toEqual(expected);
  });

  it.each([
    ['ls\npwd', ['ls', 'pwd']],
    ['cd src\n\nnpm test # run it', ['cd src', 'npm test # run it']],
    ['if true; then echo a; fi\necho b', ['if true; then echo a; fi', 'echo b']],
    ['cat <<EOF\nhello\nEOF\nls', ['cat <<EOF\nhello\nEOF', 'ls']],
    ['echo "$(echo ")")"\nls', ['echo "$(echo ")")"', 'ls']],
    ['echo a;\necho b', ['echo a;', 'echo b']],
    ['sleep 1 &\necho started', ['sleep 1 &', 'echo started']],
    ['x=${y:-}\necho $x', ['x=${y:-}', 'echo $x']],
  ])('splits %j', (source, expected) => {
    expect(splitTopLevelCommands(source)).toEqual(expected);
  });

  it('finds no command in blank or comment-only input', () => {
    expect(splitTopLevelCommands('')).toEqual([]);
    expect(splitTopLevelCommands('  \n# nothing\n')).toEqual([]);
  });
});
