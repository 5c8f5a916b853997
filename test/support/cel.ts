/**
 * The subset of CEL that workload identity attribute mappings and conditions use in
 * practice: `assertion.x` / `attribute.x` / `google.subject`, string literals, `==`, `!=`,
 * `&&`, `||`, `!`, parentheses, `.startsWith('...')` and `x in ['a', 'b']`.
 */
type Value = string | boolean | string[] | undefined;

export function evaluateCel(
  expression: string,
  vars: { assertion: Record<string, unknown>; attribute?: Record<string, string>; google?: Record<string, string> },
): Value {
  const tokens =
    expression.match(
      /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|&&|\|\||==|!=|[()[\],!]|\.startsWith|[A-Za-z_]\w*(?:\.(?!startsWith\b)\w+)*|\S/g,
    ) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string) => {
    const t = tokens[i++];
    if (expected && t !== expected) throw new Error(`CEL: expected ${expected}, found ${t ?? 'end'} in ${expression}`);
    return t as string;
  };
  const lookup = (path: string): Value => {
    const [root, ...rest] = path.split('.');
    const scope = (vars as Record<string, Record<string, unknown> | undefined>)[root ?? ''];
    if (!scope) throw new Error(`CEL: unknown name ${path}`);
    const v = scope[rest.join('.')];
    return v === undefined || v === null ? undefined : Array.isArray(v) ? v.map(String) : String(v);
  };
  const primary = (): Value => {
    const t = take();
    if (t === '(') {
      const v = or();
      take(')');
      return v;
    }
    if (t === '!') return !truthy(primary());
    if (t === '[') {
      const items: string[] = [];
      while (peek() !== ']') {
        items.push(String(primary()));
        if (peek() === ',') take(',');
      }
      take(']');
      return items;
    }
    let v: Value = /^['"]/.test(t) ? t.slice(1, -1) : lookup(t);
    if (peek() === '.startsWith') {
      take();
      take('(');
      const prefix = String(primary());
      take(')');
      v = typeof v === 'string' && v.startsWith(prefix);
    }
    return v;
  };
  const truthy = (v: Value) => v === true || (typeof v === 'string' && v !== '');
  const comparison = (): Value => {
    const left = primary();
    const op = peek();
    if (op === '==' || op === '!=') {
      take();
      const right = primary();
      return op === '==' ? left === right : left !== right;
    }
    if (op === 'in') {
      take();
      const list = primary();
      return Array.isArray(list) && typeof left === 'string' && list.includes(left);
    }
    return left;
  };
  const and = (): Value => {
    let v = comparison();
    while (peek() === '&&') {
      take();
      const r = comparison();
      v = truthy(v) && truthy(r);
    }
    return v;
  };
  const or = (): Value => {
    let v = and();
    while (peek() === '||') {
      take();
      const r = and();
      v = truthy(v) || truthy(r);
    }
    return v;
  };
  const result = or();
  if (i !== tokens.length) throw new Error(`CEL: unexpected ${tokens[i]} in ${expression}`);
  return result;
}

export function celTrue(expression: string, vars: Parameters<typeof evaluateCel>[1]): boolean {
  return evaluateCel(expression, vars) === true;
}
