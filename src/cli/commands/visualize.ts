import { writeFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { FileError, ProcmanError, StateFileError } from "../../errors.js";
import { renderDot } from "../../graph/dot.js";
import { renderSvg } from "../../graph/svg.js";
import { StateDir } from "../../executor/state-dir.js";
import type { ResolvedModel } from "../../model/types.js";
import { resolveModelFile } from "../../resolve-model.js";
import { forceDisableUserChangeOption, loadTimeoutOption, parsePath, processManagerOption, resolveOptions, resolveStateDir, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";

interface VisualizeOptions extends CommonOptions {
  format: "dot" | "svg";
  output?: string;
}

export function registerVisualize(program: Command, io: Output): void {
  program
    .command("visualize")
    .description("draw the dependency graph as Graphviz DOT (or SVG, without Graphviz installed)")
    .argument("[model]", "processes model; without one, what is deployed in the state dir")
    .addOption(new Option("--format <format>", "output format").choices(["dot", "svg"]).default("dot"))
    .option("-o, --output <file>", "write to this file instead of stdout", parsePath)
    .addOption(processManagerOption())
    .addOption(stateDirOption())
    .addOption(forceDisableUserChangeOption())
    .addOption(loadTimeoutOption())
    .addHelpText("after", "\nExample:\n  procman visualize processes.ts | dot -Tsvg > graph.svg\n  procman visualize processes.ts --format svg -o graph.svg\n")
    .action(async (file: string | undefined, options: VisualizeOptions) => {
      const model = file !== undefined ? await resolveModelFile(file, resolveOptions(options)) : deployedModel(options.stateDir);
      const dot = renderDot(model.processes);
      const text = options.format === "svg" ? await renderSvg(dot) : dot;
      if (options.output !== undefined) {
        // A missing or read-only directory is the operator's to fix, named as such (exit 1).
        await writeFile(options.output, text).catch((error: unknown) => {
          throw new FileError(options.output!, "write", error);
        });
      } else io.out(text);
    });
}

/** What the current generation of the state dir declares. */
function deployedModel(stateDirFlag: string | undefined): ResolvedModel {
  const state = new StateDir(resolveStateDir(stateDirFlag));
  const deployed = state.readDeployed();
  const damaged = deployed.damaged[0];
  if (damaged !== undefined) throw new StateFileError(damaged.file, damaged.problem);
  if (deployed.generation === undefined) {
    throw new ProcmanError("ENODEPLOY", `nothing is deployed in ${state.stateDir}; give a model file to draw`, 2);
  }
  return deployed.generation.model;
}
