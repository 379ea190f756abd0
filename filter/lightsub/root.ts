// The lightsub root context: validates and applies the plugin configuration.
import { HttpContext, RootContext, getPluginConfiguration, logError, logInfo } from "../proxy-wasm/index";
import { parseConfig } from "./config";
import { Plugin } from "./plugin";
import { settleRetired } from "./retire";
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
    this.plugin = new Plugin(config);
    if (previous != null) previous.retire();
    settleRetired();
    logInfo("lightsub: configured for service " + config.service + " with " +
      config.destinations.length.toString() + " destination(s)");
    return true;
  }

  override onDelete(): void {
    // Envoy deletes an old plugin's root context once its listener drained.
    const plugin = this.plugin;
    this.plugin = null;
    if (plugin != null) plugin.retire();
  }

  override createHttpContext(contextId: u32): HttpContext | null {
    return new LightsubStream(contextId, this);
  }
}
