/**
 * A parser for the subset of the Dockerfile language deploy/Dockerfile uses: `ARG`, `FROM … AS`,
 * `WORKDIR`, `ENV`, `COPY [--from=stage]`, `RUN [--mount=type=cache,target=…]`, `USER`,
 * `EXPOSE`, `ENTRYPOINT` and `CMD` (JSON exec form), with line continuations, comments and
 * `${ARG}` substitution in `FROM`. Anything else is refused, so the emulation in `emulate.ts`
 * never silently skips an instruction a real build would run.
 */

/** One instruction, its flags (`--from=build`) and its arguments. */
export type Instruction =
  | { readonly op: 'WORKDIR'; readonly path: string }
  | { readonly op: 'ENV'; readonly vars: Readonly<Record<string, string>> }
  | { readonly op: 'COPY'; readonly from?: string; readonly sources: readonly string[]; readonly dest: string }
  | { readonly op: 'RUN'; readonly command: string; readonly cacheTargets: readonly string[] }
  | { readonly op: 'USER'; readonly user: string }
  | { readonly op: 'EXPOSE'; readonly ports: readonly number[] }
  | { readonly op: 'ENTRYPOINT'; readonly argv: readonly string[] }
  | { readonly op: 'CMD'; readonly argv: readonly string[] };

/** A build stage: its base image and instructions in order. */
export interface Stage {
  readonly name: string;
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  /** `ARG` defaults declared before the first `FROM`. */
  readonly args: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

/** Joins continued lines and drops comments and blank lines; keeps the `# syntax=` directive out. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && /^\s*(#|$)/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push((current + line).trim());
    current = '';
  }
  if (current.trim() !== '') lines.push(current.trim());
  return lines;
}

function splitFlags(rest: string): { flags: Map<string, string[]>; args: string } {
  const flags = new Map<string, string[]>();
  let args = rest;
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s+/.exec(args);
    if (!m) break;
    flags.set(m[1]!, [...(flags.get(m[1]!) ?? []), m[2]!]);
    args = args.slice(m[0].length);
  }
  return { flags, args };
}

function execForm(args: string, op: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`${op} must use the JSON exec form: ${args}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new Error(`${op} must be a JSON array of strings: ${args}`);
  }
  return parsed;
}

function substitute(value: string, args: Readonly<Record<string, string>>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const v = args[name];
    if (v === undefined) throw new Error(`undefined build argument ${name}`);
    return v;
  });
}

function envVars(args: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of args.split(/\s+/)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`ENV must use key=value pairs: ${args}`);
    vars[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return vars;
}

function instruction(op: string, rest: string): Instruction {
  const { flags, args } = splitFlags(rest);
  const allowFlags = (...allowed: string[]) => {
    for (const f of flags.keys()) if (!allowed.includes(f)) throw new Error(`${op} --${f} is not supported`);
  };
  switch (op) {
    case 'WORKDIR':
      allowFlags();
      return { op, path: args };
    case 'ENV':
      allowFlags();
      return { op, vars: envVars(args) };
    case 'COPY': {
      allowFlags('from');
      const parts = args.split(/\s+/);
      if (parts.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
      const from = flags.get('from')?.[0];
      return { op, ...(from === undefined ? {} : { from }), sources: parts.slice(0, -1), dest: parts.at(-1)! };
    }
    case 'RUN': {
      allowFlags('mount');
      const cacheTargets = (flags.get('mount') ?? []).map((m) => {
        const opts = new Map(m.split(',').map((kv) => kv.split('=') as [string, string]));
        if (opts.get('type') !== 'cache' || !opts.get('target')) throw new Error(`only cache mounts are supported: ${m}`);
        return opts.get('target')!;
      });
      return { op, command: args, cacheTargets };
    }
    case 'USER':
      allowFlags();
      return { op, user: args };
    case 'EXPOSE':
      allowFlags();
      return { op, ports: args.split(/\s+/).map((p) => Number.parseInt(p, 10)) };
    case 'ENTRYPOINT':
      allowFlags();
      return { op, argv: execForm(args, op) };
    case 'CMD':
      allowFlags();
      return { op, argv: execForm(args, op) };
    default:
      throw new Error(`instruction ${op} is not supported by the emulation`);
  }
}

/** Parses `text`; throws on an instruction or flag outside the supported subset. */
export function parseDockerfile(text: string): Dockerfile {
  const args: Record<string, string> = {};
  const stages: { name: string; image: string; instructions: Instruction[] }[] = [];
  for (const line of logicalLines(text)) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`cannot parse line: ${line}`);
    const op = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (op === 'ARG') {
      if (stages.length > 0) throw new Error('ARG is supported before the first FROM only');
      const [name, value = ''] = rest.split('=', 2) as [string, string?];
      args[name] = value;
    } else if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`cannot parse FROM: ${rest}`);
      stages.push({ image: substitute(from[1]!, args), name: from[2] ?? String(stages.length), instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${op} before the first FROM`);
      stage.instructions.push(instruction(op, rest));
    }
  }
  return { args, stages };
}

/** The instructions of `stage` with operation `op`. */
export function instructionsOf<O extends Instruction['op']>(stage: Stage, op: O): Extract<Instruction, { op: O }>[] {
  return stage.instructions.filter((i): i is Extract<Instruction, { op: O }> => i.op === op);
}
