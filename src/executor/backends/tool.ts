// Runs a process manager's command-line tool; the one place the managed deployments call out.
import { execa } from "execa";

export interface ToolResult {
  readonly exitCode: number;
  readonly output: string;
}

export async function runTool(file: string, args: readonly string[], options: { timeoutSeconds?: number; env?: Record<string, string> } = {}): Promise<ToolResult> {
  const result = await execa(file, args, {
    reject: false,
    all: true,
    stdin: "ignore",
    timeout: (options.timeoutSeconds ?? 120) * 1000,
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
  if (result.failed && result.exitCode === undefined) {
    const why = (result as { code?: string }).code === "ENOENT" ? "not found on PATH" : result.shortMessage;
    return { exitCode: 127, output: `${file}: ${why}` };
  }
  return { exitCode: result.exitCode ?? 1, output: String(result.all ?? "").trim() };
}

export class ToolError extends Error {
  constructor(readonly tool: string, args: readonly string[], readonly result: ToolResult) {
    super(`${tool} ${args.join(" ")} failed (${result.exitCode})${result.output === "" ? "" : `: ${result.output.split("\n").slice(-5).join("\n")}`}`);
  }
}

export async function mustRun(file: string, args: readonly string[], timeoutSeconds?: number): Promise<string> {
  const result = await runTool(file, args, timeoutSeconds !== undefined ? { timeoutSeconds } : {});
  if (result.exitCode !== 0) throw new ToolError(file, args, result);
  return result.output;
}
