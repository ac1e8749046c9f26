/**
 * The only module that chooses and loads a tfjs backend. Training prefers `tensorflow` (the native
 * TensorFlow binding of `@tensorflow/tfjs-node`) when it can be imported, which needs internet at
 * install time and so is absent here, and otherwise uses the WASM backend with SIMD, loading its
 * `.wasm` files from `node_modules` (never from a CDN) and registering the training kernels it lacks
 * (`training/wasm_kernels.ts`). Tests use the pure-JS `cpu` backend, which is slow but exact.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { fileURLToPath } from "node:url";
import type { Logger } from "../core/mod.ts";
import { installWasmTrainingKernels } from "./wasm_kernels.ts";

/** Backends this project knows how to run. */
export type BackendName = "tensorflow" | "wasm" | "cpu";

/** What {@linkcode setupBackend} chose. */
export interface BackendInfo {
  /** The active tfjs backend. */
  name: BackendName;
  /** Whether the WASM build with SIMD is used (WASM only). */
  simd?: boolean;
  /** One human-readable line, as logged. */
  description: string;
}

/** Options of {@linkcode setupBackend}. */
export interface SetupBackendOptions {
  /**
   * `auto`: `tensorflow` when `@tensorflow/tfjs-node` can be imported, else `wasm`. A named backend is
   * used as is (`tensorflow` fails when the package is missing).
   * @default "auto"
   */
  prefer?: BackendName | "auto";
  /** Receives the line naming the backend. */
  logger?: Logger;
}

/** Folder holding `tfjs-backend-wasm*.wasm`, with a trailing slash, as `setWasmPaths` wants it. */
export const WASM_DIR: string = fileURLToPath(
  new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url),
);

// tfjs prints a "install tfjs-node" banner on first use of the cpu backend under Node unless in PROD.
tf.env().set("PROD", true);

let tfjsNodeTried: Promise<boolean> | undefined;

/**
 * Tries to import `@tensorflow/tfjs-node`, which registers the `tensorflow` backend. The specifier is
 * computed so that neither the type checker nor the module graph requires the package.
 */
function tryTfjsNode(): Promise<boolean> {
  tfjsNodeTried ??= (async () => {
    for (const spec of ["@tensorflow/tfjs-node", "npm:@tensorflow/tfjs-node"]) {
      try {
        await import(spec);
        if (tf.findBackend("tensorflow") !== undefined || tf.engine().registryFactory["tensorflow"]) {
          return true;
        }
      } catch {
        // not installed: fall through silently
      }
    }
    return false;
  })();
  return tfjsNodeTried;
}

let wasmKernelsInstalled = false;

async function activate(name: BackendName): Promise<boolean> {
  if (name === "wasm") {
    setWasmPaths(WASM_DIR);
    if (!wasmKernelsInstalled) {
      installWasmTrainingKernels();
      wasmKernelsInstalled = true;
    }
  }
  if (name === "tensorflow" && !(await tryTfjsNode())) return false;
  const ok = await tf.setBackend(name);
  await tf.ready();
  return ok && tf.getBackend() === name;
}

/**
 * Selects and initialises the tfjs backend for training and logs which one.
 *
 * @param opts Preferred backend and logger.
 * @returns The backend in use.
 * @throws {Error} When the requested backend cannot be initialised.
 */
export async function setupBackend(opts: SetupBackendOptions = {}): Promise<BackendInfo> {
  const prefer = opts.prefer ?? "auto";
  let name: BackendName;
  if (prefer === "auto") {
    name = (await activate("tensorflow")) ? "tensorflow" : "wasm";
    if (name === "wasm" && !(await activate("wasm"))) {
      throw new Error("Cannot initialise the tfjs WASM backend");
    }
  } else {
    if (!(await activate(prefer))) {
      throw new Error(
        prefer === "tensorflow"
          ? "Cannot use the tensorflow backend: install @tensorflow/tfjs-node"
          : `Cannot initialise the tfjs ${prefer} backend`,
      );
    }
    name = prefer;
  }
  const info: BackendInfo = { name, description: "" };
  if (name === "wasm") {
    info.simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true;
    info.description = `tfjs backend: wasm (${info.simd ? "SIMD" : "no SIMD"}, single thread, ${WASM_DIR})`;
  } else if (name === "tensorflow") {
    info.description = "tfjs backend: tensorflow (native, @tensorflow/tfjs-node)";
  } else {
    info.description = "tfjs backend: cpu (pure JavaScript; slow, for tests)";
  }
  opts.logger?.info(info.description);
  return info;
}

/**
 * Whether `@tensorflow/tfjs-node` can be imported here (it registers the `tensorflow` backend).
 *
 * @returns `true` when the native backend is available.
 */
export function tensorflowAvailable(): Promise<boolean> {
  return tryTfjsNode();
}
