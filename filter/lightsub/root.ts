// The lightsub root context (top layer): validates and applies the plugin
// configuration, runs the tick, and creates a LightsubStream per request.
import {
  HttpContext, RootContext, currentTimeNanos, getPluginConfiguration, logError, logInfo, setTickPeriodMilliseconds,
} from "../proxy-wasm/index";
import { parseConfig } from "./config/plugin";
import { storeWorkerLocal } from "./destination";
import { CurrentPlugin, Plugin } from "./plugin";
import { STORE_INTERVAL_MS } from "./records/local";
import { settleRetired } from "./records/retire";
import { LightsubStream } from "./stream";
import { FLUSH_INTERVAL_MS, flushMetrics } from "./telemetry/batch";

export class LightsubRoot extends RootContext {
  /** Null until a configuration was accepted. A rejected one keeps the previous. Streams read it. */
  current: CurrentPlugin = new CurrentPlugin();

  override onConfigure(pluginConfigurationSize: usize): bool {
    const bytes = getPluginConfiguration(pluginConfigurationSize);
    if (bytes == null) {
      logError("lightsub: configuration: the host returned no plugin configuration");
      return false;
    }
    const result = parseConfig(bytes);
    const config = result.config;
    if (config == null) {
      logError("lightsub: configuration: " + result.error);
      return false;
    }
    const previous = this.current.plugin;
    // The new configuration enlists its endpoints before the old one delists them,
    // so only endpoints it dropped are retired.
    const plugin = new Plugin(config);
    this.current.plugin = plugin;
    // Requests waiting for admission are never dropped: moved to the new queue or answered.
    if (previous != null && previous.handOverAdmission(plugin)) this.setEffective();
    if (previous != null) previous.retire();
    settleRetired();
    // The tick publishes this worker's batched metrics (telemetry/batch.ts) and serves admission queues.
    const admissionTick = plugin.admissionTickMs();
    let tickMs = admissionTick > 0 && admissionTick < FLUSH_INTERVAL_MS ? admissionTick : FLUSH_INTERVAL_MS;
    // It also stores what worker-local destinations kept in this worker (records/local.ts).
    for (let i = 0; i < plugin.targets.length; i++) {
      if (plugin.targets[i].destination.workerLocal && STORE_INTERVAL_MS < tickMs) tickMs = STORE_INTERVAL_MS;
    }
    setTickPeriodMilliseconds(tickMs);
    if (config.listenerScoped) {
      logInfo("lightsub: configured for service " + config.service + ", listener of destination " + config.destinations[0].service);
    } else {
      logInfo("lightsub: configured for service " + config.service + " with " +
        config.destinations.length.toString() + " destination(s)");
    }
    return true;
  }

  override onDelete(): void {
    // Envoy deletes an old plugin's root context once its listener drained.
    const plugin = this.current.plugin;
    this.current.plugin = null;
    if (plugin != null) {
      plugin.handOverAdmission(null);
      plugin.retire();
    }
    storeWorkerLocal();
    flushMetrics(currentTimeNanos());
  }

  override onTick(): void {
    const nowNs = currentTimeNanos();
    storeWorkerLocal();
    flushMetrics(nowNs);
    const plugin = this.current.plugin;
    if (plugin != null) plugin.tickAdmission(nowNs);
  }

  override createHttpContext(contextId: u32): HttpContext | null {
    return new LightsubStream(contextId, this, this.current);
  }
}
