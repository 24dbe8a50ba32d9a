// The console's Cloud rooms tab: every personal cloud room of the
// enterprise with its members (edited here: remove a member, add colleagues
// found in the directory with the invitee picker) and whether its meetings
// may be streamed live.

import { api } from "./api";
import { Feedback, button, section, type ConsoleContext, type ConsoleTab } from "./console_ui";
import { formatMeetingNumber, h } from "./dom";
import { t } from "./i18n";
import { InviteePicker } from "./invitee_picker";
import type { CloudRoomStreaming, Invitee } from "./proto";

export function roomsTab(ctx: ConsoleContext): ConsoleTab {
  return new RoomsTab(ctx);
}

class RoomsTab implements ConsoleTab {
  readonly root: HTMLElement;
  private readonly feedback: Feedback;
  private readonly list = h("ul", { class: "console-list", testid: "cloud-rooms", "aria-busy": "true" });

  constructor(private readonly ctx: ConsoleContext) {
    this.feedback = new Feedback(ctx, "rooms");
    this.list.setAttribute("aria-label", t("rooms.list"));
    this.root = h("div", { class: "console-tab-body", testid: "rooms-tab" }, ...this.feedback.nodes(), section(t("rooms.list"), this.list));
    void this.load();
  }

  private async load(): Promise<void> {
    await this.feedback.run(async () => {
      const rooms = await api.adminCloudRooms(this.ctx.token);
      this.list.replaceChildren(...(rooms.length ? rooms.map((r) => this.item(r)) : [h("li", { class: "empty", testid: "no-cloud-rooms" }, t("rooms.none"))]));
    });
    this.list.setAttribute("aria-busy", "false");
  }

  private item(room: CloudRoomStreaming): HTMLLIElement {
    const li = h("li", { class: "console-room", testid: `cloud-room-${room.room_id}`, "data-members": room.members.map((m) => m.account_id).join(" ") });
    const edit = button(t("rooms.editMembers"), `cloud-room-edit-${room.room_id}`, () => {
      edit.disabled = true;
      li.append(this.editor(room, li));
    });
    li.append(
      h(
        "div",
        { class: "console-item" },
        h(
          "div",
          { class: "console-item-info" },
          h("strong", {}, room.name),
          h("span", { class: "muted" }, t("rooms.number", { number: formatMeetingNumber(room.number) })),
          memberLine(room),
        ),
        h("div", { class: "item-actions" }, this.streamingToggle(room, li), edit),
      ),
    );
    return li;
  }

  private streamingToggle(room: CloudRoomStreaming, li: HTMLLIElement): HTMLLabelElement {
    const input = h("input", {
      type: "checkbox",
      testid: `cloud-room-streaming-${room.room_id}`,
      checked: room.streaming_allowed,
      "aria-label": t("rooms.streamingOf", { name: room.name }),
    });
    input.addEventListener("change", () => void this.setStreaming(room, input.checked, li));
    return h("label", { class: "check" }, input, h("span", {}, t("rooms.streaming")));
  }

  /** Saves the permission; the room is drawn as the server answered, or as it was when refused. */
  private async setStreaming(room: CloudRoomStreaming, allowed: boolean, li: HTMLLIElement): Promise<void> {
    let shown = room;
    await this.feedback.run(async () => {
      shown = await api.setCloudRoomStreaming(this.ctx.token, room.room_id, { allowed });
      this.feedback.done();
    });
    li.replaceWith(this.item(shown));
  }

  /** The members editor under a room: its members as removable chips, the picker to add more, Save / Cancel. */
  private editor(room: CloudRoomStreaming, li: HTMLLIElement): HTMLElement {
    const kept = new Map(room.members.map((m) => [m.account_id, m.display_name]));
    const chips = h("div", { class: "invitee-chips", testid: `cloud-room-kept-${room.room_id}` });
    const drawChips = () => chips.replaceChildren(...[...kept].map(([id, name]) => keptChip(id, name, () => (kept.delete(id), drawChips()))));
    drawChips();
    const picker = new InviteePicker(this.ctx.token, () => new Set([...kept.keys(), room.owner_account_id]));
    const save = () => void this.saveMembers(room, [...kept.keys(), ...picker.selected()], li);
    return h(
      "div",
      { class: "console-room-editor", testid: `cloud-room-editor-${room.room_id}` },
      h("span", { class: "muted" }, t("rooms.members")),
      chips,
      h("span", { class: "muted" }, t("rooms.addMembers")),
      picker.root,
      h(
        "div",
        { class: "item-actions" },
        button(t("common.save"), `cloud-room-save-${room.room_id}`, save, "primary"),
        button(t("common.cancel"), `cloud-room-cancel-${room.room_id}`, () => li.replaceWith(this.item(room))),
      ),
    );
  }

  private async saveMembers(room: CloudRoomStreaming, members: string[], li: HTMLLIElement): Promise<void> {
    await this.feedback.run(async () => {
      const saved = await api.setCloudRoomMembers(this.ctx.token, room.room_id, { members });
      li.replaceWith(this.item(saved));
      this.feedback.done(t("rooms.saved", { name: saved.name }));
    });
  }
}

function memberLine(room: CloudRoomStreaming): HTMLElement {
  const names = room.members.map((m: Invitee) => h("span", { class: "chip", testid: `cloud-room-member-${m.account_id}` }, m.display_name));
  return h(
    "span",
    { class: "console-room-members", testid: `cloud-room-members-${room.room_id}` },
    h("span", { class: "muted" }, t("rooms.membersLabel")),
    ...(names.length ? names : [h("span", { class: "muted" }, t("rooms.noMembers"))]),
  );
}

function keptChip(id: string, name: string, remove: () => void): HTMLButtonElement {
  return h("button", { type: "button", class: "chip", testid: `cloud-room-keep-${id}`, title: t("rooms.removeMember", { name }), onclick: remove }, `${name} ×`);
}
