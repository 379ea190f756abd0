// The lightsub root context: validates and applies the plugin configuration.
import {
  HttpContext, RootContext, currentTimeNanos, getPluginConfiguration, logError, logInfo, setTickPeriodMilliseconds,
} from "../proxy-wasm/index";
import { admissionTickMs, handOverAdmission, tickAdmission } from "./admission/admission";
import { FLUSH_INTERVAL_MS, flushMetrics } from "./telemetry/batch";
import { parseConfig } from "./config/plugin";
import { Plugin } from "./plugin";
import { settleRetired } from "./records/retire";
import { LightsubStream } from "./stream";

export class LightsubRoot extends RootContext {
  /** Null until a configuration was accepted. A rejected one keeps the previous. */
  plugin: Plugin | null = null;

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
    const previous = this.plugin;
    // The new configuration claims its endpoints before the old one lets go,
    // so only endpoints it dropped are retired.
    const plugin = new Plugin(config);
    this.plugin = plugin;
    // Requests waiting for admission are never dropped: moved to the new queue or answered.
    if (previous != null && handOverAdmission(previous, plugin)) this.setEffective();
    if (previous != null) previous.retire();
    settleRetired();
    // The tick publishes this worker's batched metrics (metric-batch.ts) and serves admission queues.
    const admissionTick = admissionTickMs(plugin);
    setTickPeriodMilliseconds(admissionTick > 0 && admissionTick < FLUSH_INTERVAL_MS ? admissionTick : FLUSH_INTERVAL_MS);
    logInfo("lightsub: configured for service " + config.service + " with " +
      config.destinations.length.toString() + " destination(s)");
    return true;
  }

  override onDelete(): void {
    // Envoy deletes an old plugin's root context once its listener drained.
    const plugin = this.plugin;
    this.plugin = null;
    if (plugin != null) {
      handOverAdmission(plugin, null);
      plugin.retire();
    }
    flushMetrics(currentTimeNanos());
  }

  override onTick(): void {
    const nowNs = currentTimeNanos();
    flushMetrics(nowNs);
    const plugin = this.plugin;
    if (plugin != null) tickAdmission(plugin, nowNs);
  }

  override createHttpContext(contextId: u32): HttpContext | null {
    return new LightsubStream(contextId, this);
  }
}
