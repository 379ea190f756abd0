/** env.proxy_* host functions for shared data and shared queues (process-wide, keyed by vm_id). */
import { WasmResult } from "../abi.js";
import type { Vm } from "../vm.js";

export function dataImports(vm: Vm): Record<string, (...args: never[]) => number> {
  const envoy = vm.envoy;
  const mem = vm.mem;
  const enter = (name: string): void => vm.enterHostCall(name);

  return {
    proxy_get_shared_data(keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number, casPtr: number) {
      enter("env.proxy_get_shared_data");
      const key = mem.string(keyPtr, keySize);
      if (key === null) return WasmResult.InvalidMemoryAccess;
      const entry = envoy.sharedData.read(vm.vmId, key);
      if (!entry) return WasmResult.NotFound;
      if (!vm.copyOut(entry.value, valuePtrPtr, valueSizePtr)) return WasmResult.InvalidMemoryAccess;
      return mem.writeU32(casPtr, entry.cas) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_shared_data(keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number) {
      enter("env.proxy_set_shared_data");
      const key = mem.string(keyPtr, keySize);
      const value = mem.slice(valuePtr, valueSize);
      if (key === null || value === null) return WasmResult.InvalidMemoryAccess;
      return envoy.sharedData.write(vm.vmId, key, value, cas >>> 0);
    },

    proxy_register_shared_queue(namePtr: number, nameSize: number, tokenPtr: number) {
      enter("env.proxy_register_shared_queue");
      const name = mem.string(namePtr, nameSize);
      if (name === null) return WasmResult.InvalidMemoryAccess;
      const root = vm.ctx().rootContext();
      if (!root) return WasmResult.BadArgument;
      const token = envoy.sharedQueues.register(vm.vmId, name, root);
      return mem.writeU32(tokenPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_resolve_shared_queue(vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, tokenPtr: number) {
      enter("env.proxy_resolve_shared_queue");
      const vmId = mem.string(vmIdPtr, vmIdSize);
      const name = mem.string(namePtr, nameSize);
      if (vmId === null || name === null) return WasmResult.InvalidMemoryAccess;
      const token = envoy.sharedQueues.resolve(vmId === "" ? vm.vmId : vmId, name);
      if (vm.failed || token === 0) return WasmResult.NotFound;
      return mem.writeU32(tokenPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_enqueue_shared_queue(token: number, dataPtr: number, dataSize: number) {
      enter("env.proxy_enqueue_shared_queue");
      const data = mem.slice(dataPtr, dataSize);
      if (data === null) return WasmResult.InvalidMemoryAccess;
      const t = token >>> 0;
      const owner = envoy.sharedQueues.enqueue(t, data);
      if (typeof owner === "number") return owner;
      vm.afterCall.push(() => {
        if (owner.vm.exports("proxy_on_queue_ready")) {
          owner.vm.invoke(owner, "proxy_on_queue_ready", owner.id, t);
          owner.vm.finishCall();
        }
      });
      return WasmResult.Ok;
    },

    proxy_dequeue_shared_queue(token: number, dataPtrPtr: number, dataSizePtr: number) {
      enter("env.proxy_dequeue_shared_queue");
      const item = envoy.sharedQueues.dequeue(token >>> 0);
      if (typeof item === "number") return item;
      return vm.copyOut(item, dataPtrPtr, dataSizePtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };
}
