import type { Command } from "commander";
import { ModelError, ProcmanError } from "../../errors.js";
import { activationLayers } from "../../graph/graph.js";
import { resolveModelFile } from "../../resolve-model.js";
import { forceDisableUserChangeOption, loadTimeoutOption, jsonOption, processManagerOption, resolveOptions, stateDirOption, type CommonOptions } from "../options.js";
import type { Output } from "../output.js";
import type { ResolvedModel } from "../../model/types.js";

/** What the chosen manager's generator cannot carry: bad input for that manager (exit 2). */
class NotCarriedError extends ProcmanError {
  constructor(message: string, readonly issues: readonly string[]) {
    super("EGENERATE", message, 2);
  }
}

/** With -P for another manager, its generator (pure) runs too: what it refuses, validate refuses. */
async function checkCarried(model: ResolvedModel, manager: string | undefined): Promise<void> {
  if (manager === undefined || manager === "direct") return;
  const { GENERATORS } = await import("../../../generators/index.js");
  const { GeneratorError } = await import("../../../generators/types.js");
  try {
    GENERATORS[manager as keyof typeof GENERATORS](model, {});
  } catch (error) {
    if (error instanceof GeneratorError) throw new NotCarriedError(error.message, error.issues);
    throw error;
  }
}

export function registerValidate(program: Command, io: Output): void {
  program
    .command("validate")
    .description("check a processes model and print its activation order; exit 2 listing every problem")
    .argument("<model>", "processes model: .ts, .mts, .js, .mjs, .json, .yaml or .yml")
    .addOption(processManagerOption())
    .addOption(stateDirOption())
    .addOption(forceDisableUserChangeOption())
    .addOption(loadTimeoutOption())
    .addOption(jsonOption())
    .action(async (file: string, options: CommonOptions) => {
      try {
        const model = await resolveModelFile(file, resolveOptions(options));
        await checkCarried(model, options.processManager);
        const layers = activationLayers(model.processes);
        if (options.json === true) {
          io.out(`${JSON.stringify({ valid: true, file, processes: model.processes.length, layers })}\n`);
          return;
        }
        const count = model.processes.length;
        io.out(`${file}: valid, ${count} process${count === 1 ? "" : "es"} in ${layers.length} layer${layers.length === 1 ? "" : "s"}\n`);
        io.out("activation order (each process starts once what it activatesAfter is ready; one layer may start in parallel):\n");
        layers.forEach((layer, index) => io.out(`  ${index + 1}. ${layer.join(", ")}\n`));
      } catch (error) {
        if (options.json === true && error instanceof ProcmanError) {
          const issues = error instanceof ModelError ? error.issues : error instanceof NotCarriedError ? error.issues.map((message) => ({ message })) : [{ message: error.message }];
          io.out(`${JSON.stringify({ valid: false, file, code: error.code, issues })}\n`);
        }
        throw error;
      }
    });
}
