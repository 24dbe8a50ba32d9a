// The console's Devices tab: the enterprise's meeting devices (room systems
// by name, SIP address and location), which everyone can invite or
// schedule; add one, remove one.

import { api } from "./api";
import { Feedback, button, confirmAction, emptyRow, section, table, type ConsoleContext, type ConsoleTab } from "./console_ui";
import { h } from "./dom";
import { t, type StringKey } from "./i18n";
import type { DirectoryDevice } from "./proto";
import { LIMITS } from "./proto";

const COLUMNS: readonly StringKey[] = ["devices.name", "devices.address", "devices.colLocation", "common.actions"];

export function devicesTab(ctx: ConsoleContext): ConsoleTab {
  return new DevicesTab(ctx);
}

class DevicesTab implements ConsoleTab {
  readonly root: HTMLElement;
  private readonly feedback: Feedback;
  private readonly name = h("input", { testid: "device-name", required: true, maxlength: String(LIMITS.device_name_chars), autocomplete: "off" });
  private readonly address = h("input", {
    testid: "device-address",
    required: true,
    maxlength: String(LIMITS.device_address_bytes),
    placeholder: t("devices.addressExample"),
    autocomplete: "off",
  });
  private readonly location = h("input", { testid: "device-location", maxlength: String(LIMITS.location_chars), autocomplete: "off" });
  private readonly rows = h("tbody", { testid: "device-rows" });

  constructor(private readonly ctx: ConsoleContext) {
    this.feedback = new Feedback(ctx, "devices");
    this.root = h(
      "div",
      { class: "console-tab-body", testid: "devices-tab" },
      ...this.feedback.nodes(),
      section(t("devices.new"), this.form()),
      section(t("devices.list"), table("device-table", COLUMNS, this.rows)),
    );
    void this.load();
  }

  private form(): HTMLFormElement {
    const field = (label: StringKey, input: HTMLInputElement) => h("label", { class: "field" }, h("span", {}, t(label)), input);
    return h(
      "form",
      { class: "console-form", testid: "device-form", onsubmit: (event: Event) => (event.preventDefault(), void this.add()) },
      field("devices.name", this.name),
      field("devices.address", this.address),
      field("devices.location", this.location),
      h("button", { type: "submit", class: "primary console-button", testid: "device-add" }, t("devices.add")),
    );
  }

  private async load(): Promise<void> {
    await this.feedback.run(async () => this.draw(await api.devices(this.ctx.token)));
  }

  private draw(devices: DirectoryDevice[]): void {
    this.rows.replaceChildren(...(devices.length ? devices.map((d) => this.row(d)) : [emptyRow(COLUMNS.length, "devices.none")]));
  }

  private row(device: DirectoryDevice): HTMLTableRowElement {
    return h(
      "tr",
      { testid: `device-${device.id}`, "data-address": device.address },
      h("td", {}, device.name),
      h("td", {}, h("code", {}, device.address)),
      h("td", {}, device.location ?? ""),
      h("td", {}, button(t("devices.remove"), `device-remove-${device.id}`, () => void this.remove(device))),
    );
  }

  private async add(): Promise<void> {
    const name = this.name.value.trim();
    const location = this.location.value.trim();
    const ok = await this.feedback.run(async () => {
      await api.createDevice(this.ctx.token, { name, address: this.address.value.trim(), location: location || null });
    });
    if (!ok) return;
    for (const input of [this.name, this.address, this.location]) input.value = "";
    await this.load();
    this.feedback.done(t("devices.added", { name }));
  }

  private async remove(device: DirectoryDevice): Promise<void> {
    const yes = await confirmAction("confirm-remove-device", t("devices.removeTitle", { name: device.name }), t("devices.removeText"), t("devices.remove"));
    if (!yes) return;
    if (await this.feedback.run(() => api.deleteDevice(this.ctx.token, device.id).then(() => this.feedback.done()))) await this.load();
  }
}
