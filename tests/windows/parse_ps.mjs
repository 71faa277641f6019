// Parse PowerShell files with tree-sitter-powershell (WebAssembly) and print,
// as JSON, for each file: its syntax errors (ERROR and MISSING nodes), the
// functions it defines (with their number of parameters), the commands it
// calls (with their number of positional arguments, null when some argument
// is named), the variables it reads and those it assigns (parameters,
// assignments, foreach variables).
// Usage: node --liftoff-only parse_ps.mjs FILE...   ("-" reads stdin)
// (--liftoff-only: V8's optimising compile of the grammar's WebAssembly takes
// some 15 s of CPU, for a parse that takes 0.1 s.)
import { Parser, Language } from 'web-tree-sitter';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
await Parser.init();
const grammar = await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
const parser = new Parser();
parser.setLanguage(grammar);

function firstVariable(node) {
  if (node.type === 'variable') return node;
  for (const child of node.namedChildren) {
    const found = firstVariable(child);
    if (found) return found;
  }
  return null;
}

function countParameters(functionNode) {
  let count = 0;
  const visit = (node) => {
    if (node.type === 'function_statement' && node !== functionNode) return;
    if (node.type === 'script_block_expression') return;
    if (node.type === 'script_parameter') count += 1;
    for (const child of node.namedChildren) visit(child);
  };
  visit(functionNode);
  return count;
}

function positionalArguments(commandNode) {
  const elements = commandNode.childForFieldName('command_elements');
  if (!elements) return 0;
  let count = 0;
  let inGroup = false;
  for (const child of elements.children) {
    if (child.type === 'command_argument_sep' && child.text.trim() === '') {
      inGroup = false;
    } else if (child.type === 'command_parameter') {
      return null;
    } else if (!inGroup && child.type !== 'command_argument_sep') {
      count += 1;
      inGroup = true;
    }
  }
  return count;
}

function describe(path, source) {
  const tree = parser.parse(source);
  const out = { path, errors: [], functions: [], commands: [], variables: [], assigned: [] };
  const visit = (node) => {
    if (node.isError || node.isMissing) {
      out.errors.push({ type: node.isMissing ? 'MISSING' : 'ERROR', row: node.startPosition.row + 1,
                        column: node.startPosition.column + 1, text: node.text.slice(0, 80) });
    }
    if (node.type === 'function_statement') {
      const name = node.namedChildren.find((c) => c.type === 'function_name');
      out.functions.push({ name: name.text, parameters: countParameters(node) });
    }
    if (node.type === 'command') {
      const name = node.childForFieldName('command_name');
      out.commands.push({ name: name ? name.text : null, positional: positionalArguments(node),
                          row: node.startPosition.row + 1 });
    }
    if (node.type === 'variable') out.variables.push(node.text);
    if (node.type === 'left_assignment_expression' || node.type === 'script_parameter') {
      const variable = firstVariable(node);
      if (variable) out.assigned.push(variable.text);
    }
    if (node.type === 'foreach_statement') {
      const variable = node.namedChildren.find((c) => c.type === 'variable');
      if (variable) out.assigned.push(variable.text);
    }
    for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  return out;
}

const results = process.argv.slice(2).map((path) =>
  describe(path, path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8')));
process.stdout.write(JSON.stringify(results) + '\n');
