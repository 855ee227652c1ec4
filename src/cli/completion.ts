import { Command, type Option } from "commander";
import type { CliIO } from "./context.ts";
import { UsageError } from "./usage-error.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

interface Node {
  name: string;
  flags: string[];
  /** Flags followed by a value, which is then not a command word. */
  valueFlags: string[];
  children: Node[];
}

function tree(command: Command): Node {
  const names = (o: Option) => [o.long, o.short].filter((f): f is string => f !== undefined);
  const options = command.options as readonly Option[];
  return {
    name: command.name(),
    flags: [...options.flatMap(names), "--help"],
    valueFlags: options.filter((o) => o.required || o.optional).flatMap(names),
    children: command.commands.map(tree),
  };
}

function allValueFlags(node: Node): string[] {
  return [...new Set([...node.valueFlags, ...node.children.flatMap(allValueFlags)])];
}

/**
 * A completion script generated from the command tree itself, so new
 * commands and every SETTINGS flag of `serve` complete without edits here.
 * Completes command, subcommand and flag names (not values).
 */
export function completionScript(shell: Shell, program: Command): string {
  const root = tree(program);
  const bin = root.name;
  switch (shell) {
    case "bash":
    case "zsh":
      return (shell === "zsh" ? "autoload -U +X bashcompinit && bashcompinit\n" : "") + bashScript(bin, root);
    case "fish":
      return fishScript(bin, root);
  }
}

function bashScript(bin: string, root: Node): string {
  const fn = `_${bin.replaceAll("-", "_")}_complete`;
  const cases: string[] = [];
  // Longest paths first; a path may go on with positional arguments (`events <topic> --f`).
  for (const command of root.children) {
    for (const sub of command.children) cases.push(`    "${command.name} ${sub.name}"|"${command.name} ${sub.name} "*) words="${sub.flags.join(" ")}" ;;`);
    const words = [...command.children.map((c) => c.name), ...command.flags].join(" ");
    cases.push(`    ${command.name}|"${command.name} "*) words="${words}" ;;`);
  }
  return `# ${bin} completion for bash (source it, or put it in /etc/bash_completion.d/${bin})
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" words="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${allValueFlags(root).join("|")}) ((i++)) ;;
      -*) ;;
      *) path="\${path:+$path }\${COMP_WORDS[i]}" ;;
    esac
  done
  case "$path" in
    "") words="${[...root.children.map((c) => c.name), ...root.flags].join(" ")}" ;;
${cases.join("\n")}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F ${fn} ${bin}
`;
}

function fishScript(bin: string, root: Node): string {
  const lines = [`# ${bin} completion for fish (save as ~/.config/fish/completions/${bin}.fish)`, `complete -c ${bin} -f`];
  const top = root.children.map((c) => c.name).join(" ");
  for (const command of root.children) lines.push(`complete -c ${bin} -n "not __fish_seen_subcommand_from ${top}" -a ${command.name}`);
  for (const flag of root.flags) lines.push(`complete -c ${bin} ${fishFlag(flag)}`);
  for (const command of root.children) {
    const subs = command.children.map((c) => c.name).join(" ");
    for (const sub of command.children) lines.push(`complete -c ${bin} -n "__fish_seen_subcommand_from ${command.name}; and not __fish_seen_subcommand_from ${subs}" -a ${sub.name}`);
    for (const flag of command.flags) lines.push(`complete -c ${bin} -n "__fish_seen_subcommand_from ${command.name}" ${fishFlag(flag)}`);
    for (const sub of command.children) for (const flag of sub.flags) lines.push(`complete -c ${bin} -n "__fish_seen_subcommand_from ${sub.name}" ${fishFlag(flag)}`);
  }
  return `${lines.join("\n")}\n`;
}

function fishFlag(flag: string): string {
  return flag.startsWith("--") ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`;
}

/** `completion <shell>`: prints the script. */
export function completionCommand(io: CliIO, program: () => Command): Command {
  return new Command("completion")
    .description("Print a shell completion script: eval \"$(event-store completion bash)\"")
    .argument("<shell>", SHELLS.join(", "))
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`completion: shell must be one of ${SHELLS.join(", ")}, got '${shell}'`);
      io.stdout(completionScript(shell as Shell, program()));
    });
}

