// The host's breakout manager, the "Breakouts 分组讨论" tab (F-BRK-1, the
// manual's 5.2): create N rooms assigned at random, by hand or by the
// participants' own choice, with the options (participants may choose, may
// return to the main room, move everyone automatically, close after N
// minutes, countdown seconds); rename, add and delete rooms; assign each
// participant; open; visit any room and leave it; broadcast to all rooms;
// close. Help requests from the rooms are listed with a button to go there.
// Everything shown is the server's last `breakouts` message.

import { askChoice, askText } from "./ask_dialog";
import { h } from "./dom";
import {
  ASSIGNMENTS,
  DEFAULT_BREAKOUT_OPTIONS,
  assignable,
  assignedRoom,
  createCommand,
  optionsForm,
  optionsFromForm,
  roomName,
  type BreakoutAssignment,
  type BreakoutState,
} from "./breakouts";
import type { ClientMessage, HostCommand, Participant } from "./proto";
import { LIMITS } from "./proto";

interface HelpRequest {
  participantId: string;
  name: string;
  roomId: string | null;
}

export class BreakoutManager {
  readonly root: HTMLElement;
  private readonly count = h("input", { type: "number", min: "1", max: String(LIMITS.breakout_rooms), value: "2", testid: "breakout-count" });
  private readonly assignment = h(
    "select",
    { testid: "breakout-assignment", "aria-label": "Assign participants 分配方式" },
    ...ASSIGNMENTS.map(([value, text]) => h("option", { value }, text)),
  );
  private readonly allowChoose = h("input", { type: "checkbox", testid: "breakout-allow-choose" });
  private readonly allowReturn = h("input", { type: "checkbox", testid: "breakout-allow-return" });
  private readonly autoMove = h("input", { type: "checkbox", testid: "breakout-auto-move" });
  private readonly closeAfter = h("input", { type: "number", min: "1", step: "any", testid: "breakout-close-after", placeholder: "never 不自动结束" });
  private readonly countdown = h("input", { type: "number", min: "0", max: "3600", testid: "breakout-countdown-seconds" });
  private readonly createButton = h("button", { type: "button", class: "row-button primary-small", testid: "breakout-create" }, "Create rooms 创建分组");
  private readonly saveButton = h("button", { type: "button", class: "row-button", testid: "breakout-options-save" }, "Save options 保存选项");
  private readonly error = h("p", { class: "error", testid: "breakout-error", role: "alert" });
  private readonly rooms = h("ul", { class: "breakout-rooms", testid: "breakout-rooms", "aria-label": "Breakout rooms 分组" });
  private readonly assignees = h("ul", { class: "breakout-assignees", testid: "breakout-assignees", "aria-label": "Assignments 分配" });
  private readonly sessionSection: HTMLElement;
  private readonly openButton = h("button", { type: "button", class: "row-button primary-small", testid: "breakouts-open" }, "Open all rooms 开始分组讨论");
  private readonly closeButton = h("button", { type: "button", class: "row-button danger", testid: "breakouts-close" }, "Close all rooms 结束分组讨论");
  private readonly leaveButton = h("button", { type: "button", class: "row-button", testid: "breakout-leave" }, "Back to main room 返回主会场");
  private readonly broadcastInput = h("input", {
    testid: "breakout-broadcast-input",
    maxlength: String(LIMITS.chat_chars),
    placeholder: "Message to all rooms 向所有分组广播",
    "aria-label": "Message to all rooms 向所有分组广播",
  });
  private readonly broadcastForm: HTMLElement;
  private readonly helpList = h("ul", { class: "help-requests", testid: "help-requests", "aria-label": "Help requests 求助" });
  private state: BreakoutState | null = null;
  private participants: Participant[] = [];
  private self: Participant | null = null;
  private help: HelpRequest[] = [];
  /** The options last shown from the server, so an edit in progress is kept until they change. */
  private shownOptions = "";

  constructor(
    private readonly host: (command: HostCommand) => void,
    private readonly send: (message: ClientMessage) => void,
    /** The help requests changed (the tab shows how many wait). */
    private readonly onHelp: () => void = () => undefined,
  ) {
    this.createButton.addEventListener("click", () => void this.create());
    // Rooms left to the participants' choice need choosing allowed.
    this.assignment.addEventListener("change", () => {
      if (this.assignment.value === "self_select") this.allowChoose.checked = true;
    });
    this.saveButton.addEventListener("click", () => this.saveOptions());
    this.openButton.addEventListener("click", () => this.host({ action: "open_breakouts" }));
    this.closeButton.addEventListener("click", () => this.host({ action: "close_breakouts" }));
    this.leaveButton.addEventListener("click", () => this.send({ type: "join_breakout", room_id: null }));
    this.fillOptions(DEFAULT_BREAKOUT_OPTIONS);
    this.broadcastForm = h(
      "form",
      { class: "breakout-broadcast-form" },
      this.broadcastInput,
      h("button", { type: "submit", class: "row-button", testid: "breakout-broadcast-send" }, "Broadcast 广播"),
    );
    this.broadcastForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.broadcastInput.value.trim();
      if (!text) return;
      this.host({ action: "broadcast_to_breakouts", text });
      this.broadcastInput.value = "";
    });
    this.sessionSection = h(
      "section",
      { class: "panel-section" },
      h("h3", {}, "Rooms 分组"),
      this.rooms,
      h(
        "div",
        { class: "button-row" },
        h("button", { type: "button", class: "row-button", testid: "breakout-add", onclick: () => void this.addRoom() }, "Add room 添加分组"),
      ),
      h("h3", {}, "Assign 分配"),
      this.assignees,
      h("div", { class: "button-row" }, this.openButton, this.closeButton, this.leaveButton),
      this.broadcastForm,
    );
    this.root = h(
      "div",
      { class: "breakout-manager", testid: "breakout-manager" },
      h(
        "section",
        { class: "panel-section help-section" },
        h("h3", {}, "Help requests 求助"),
        this.helpList,
      ),
      h(
        "section",
        { class: "panel-section" },
        h("h3", {}, "Breakout rooms 分组讨论"),
        h("label", { class: "field compact" }, h("span", {}, "Number of rooms 分组数"), this.count),
        h("label", { class: "field compact" }, h("span", {}, "Assign participants 分配方式"), this.assignment),
        h("label", { class: "check" }, this.allowChoose, "Allow participants to choose their room 允许参会者选择分组"),
        h("label", { class: "check" }, this.allowReturn, "Allow participants to return to the main room at any time 允许参会者随时返回主会场"),
        h("label", { class: "check" }, this.autoMove, "Move participants into their rooms automatically 自动将参会者移入分组"),
        h("label", { class: "field compact" }, h("span", {}, "Close rooms after (minutes) 自动结束（分钟）"), this.closeAfter),
        h("label", { class: "field compact" }, h("span", {}, "Countdown when closing (seconds) 结束倒计时（秒）"), this.countdown),
        this.error,
        h("div", { class: "button-row" }, this.createButton, this.saveButton),
      ),
      this.sessionSection,
    );
    this.render();
  }

  /** The rooms, everyone, and the host themselves, as the server last described them. */
  update(state: BreakoutState | null, participants: Participant[], self: Participant | undefined): void {
    this.state = state;
    this.participants = participants;
    this.self = self ?? null;
    const options = JSON.stringify(state?.options ?? null);
    if (state && options !== this.shownOptions) this.fillOptions(state.options);
    this.shownOptions = options;
    // Help from someone who left is moot.
    this.help = this.help.filter((r) => participants.some((p) => p.id === r.participantId));
    this.render();
  }

  /** Help requests not yet answered (for the tab's badge). */
  helpCount(): number {
    return this.help.length;
  }

  /** A participant asked the hosts for help. */
  helpRequested(participantId: string, name: string, roomId: string | null): void {
    this.help = [...this.help.filter((r) => r.participantId !== participantId), { participantId, name, roomId }];
    this.render();
    this.onHelp();
  }

  private fillOptions(options: BreakoutState["options"]): void {
    const form = optionsForm(options);
    this.allowChoose.checked = form.allowChoose;
    this.allowReturn.checked = form.allowReturn;
    this.autoMove.checked = form.autoMove;
    this.closeAfter.value = form.closeAfterMinutes;
    this.countdown.value = form.countdownSeconds;
  }

  private form() {
    return {
      allowChoose: this.allowChoose.checked,
      allowReturn: this.allowReturn.checked,
      autoMove: this.autoMove.checked,
      closeAfterMinutes: this.closeAfter.value,
      countdownSeconds: this.countdown.value,
    };
  }

  private async create(): Promise<void> {
    const command = createCommand(this.count.value, this.assignment.value as BreakoutAssignment, this.form(), LIMITS.breakout_rooms);
    if (typeof command === "string") {
      this.error.textContent = command;
      return;
    }
    this.error.textContent = "";
    if (this.state) {
      const yes = await askChoice({
        testid: "confirm-recreate-breakouts",
        title: "Create the rooms anew? 重新创建分组？",
        text: "The current rooms and assignments are replaced. 现有分组和分配将被替换。",
        confirm: "Create 创建",
        cancel: "Cancel 取消",
      });
      if (!yes) return;
    }
    this.host(command);
  }

  private saveOptions(): void {
    const options = optionsFromForm(this.form());
    if (typeof options === "string") {
      this.error.textContent = options;
      return;
    }
    this.error.textContent = "";
    this.host({ action: "set_breakout_options", options });
  }

  private async addRoom(): Promise<void> {
    const name = await askText({
      testid: "add-breakout",
      title: "Add a room 添加分组",
      label: "Room name 分组名称",
      value: `Room ${(this.state?.rooms.length ?? 0) + 1}`,
      maxLength: LIMITS.breakout_name_chars,
      confirm: "Add 添加",
    });
    if (name) this.host({ action: "add_breakout", name });
  }

  private async renameRoom(roomId: string, current: string): Promise<void> {
    const name = await askText({
      testid: "rename-breakout",
      title: `Rename ${current} 重命名分组`,
      label: "Room name 分组名称",
      value: current,
      maxLength: LIMITS.breakout_name_chars,
      confirm: "Rename 重命名",
    });
    if (name && name !== current) this.host({ action: "rename_breakout", room_id: roomId, name });
  }

  private async deleteRoom(roomId: string, name: string): Promise<void> {
    const yes = await askChoice({
      testid: "confirm-delete-breakout",
      title: `Delete ${name}? 删除分组？`,
      text: "Whoever is in it goes back to the main room. 组内成员将回到主会场。",
      confirm: "Delete 删除",
      cancel: "Cancel 取消",
    });
    if (yes) this.host({ action: "delete_breakout", room_id: roomId });
  }

  private render(): void {
    const state = this.state;
    const open = state?.open ?? false;
    const here = this.self?.breakout ?? null;
    this.root.dataset.open = String(open);
    this.createButton.textContent = state ? "Create anew 重新创建" : "Create rooms 创建分组";
    this.createButton.disabled = open;
    this.saveButton.hidden = !state;
    this.sessionSection.hidden = !state;
    this.openButton.hidden = open;
    this.openButton.disabled = !state || state.rooms.length === 0;
    this.closeButton.hidden = !open;
    this.closeButton.disabled = state?.closing_at_ms !== undefined;
    this.leaveButton.hidden = here === null;
    this.broadcastForm.hidden = !open;

    this.rooms.replaceChildren(
      ...(state?.rooms ?? []).map((room) => {
        const inside = this.participants.filter((p) => p.breakout === room.id);
        const assignedNames = room.assigned
          .map((id) => this.participants.find((p) => p.id === id)?.display_name)
          .filter((name): name is string => !!name);
        return h(
          "li",
          { testid: `breakout-room-${room.id}`, "data-assigned": String(room.assigned.length), "data-inside": String(inside.length) },
          h(
            "div",
            { class: "who" },
            h("strong", { testid: "breakout-room-title" }, room.name),
            h("span", { class: "count" }, ` (${inside.length}/${room.assigned.length})`),
            here === room.id ? h("span", { class: "tag host" }, "You are here 您在此") : null,
          ),
          h("div", { class: "assigned" }, assignedNames.join(", ") || "Nobody assigned 未分配成员"),
          h(
            "span",
            { class: "row-actions" },
            open && here !== room.id
              ? h("button", { type: "button", class: "row-button", testid: `breakout-visit-${room.id}`, onclick: () => this.send({ type: "join_breakout", room_id: room.id }) }, "Join 加入")
              : null,
            h("button", { type: "button", class: "row-button", testid: `breakout-rename-${room.id}`, onclick: () => void this.renameRoom(room.id, room.name) }, "Rename 重命名"),
            h("button", { type: "button", class: "row-button danger", testid: `breakout-delete-${room.id}`, onclick: () => void this.deleteRoom(room.id, room.name) }, "Delete 删除"),
          ),
        );
      }),
    );

    this.assignees.replaceChildren(
      ...assignable(this.participants).map((p) => {
        const assigned = assignedRoom(state, p.id);
        const select = h(
          "select",
          { testid: `breakout-assign-${p.id}`, "aria-label": `Room for ${p.display_name} 分组` },
          h("option", { value: "" }, "Unassigned 未分配"),
          ...(state?.rooms ?? []).map((room) => h("option", { value: room.id }, room.name)),
        );
        select.value = assigned ?? "";
        select.addEventListener("change", () => this.host({ action: "assign_breakout", participant_id: p.id, room_id: select.value || null }));
        return h(
          "li",
          { testid: `breakout-assignee-${p.id}`, "data-breakout": p.breakout ?? "" },
          h("span", { class: "who" }, h("span", { class: "name" }, p.display_name), h("span", { class: "tag" }, roomName(state, p.breakout))),
          select,
        );
      }),
    );

    this.helpList.parentElement?.toggleAttribute("hidden", this.help.length === 0);
    this.helpList.replaceChildren(
      ...this.help.map((r) =>
        h(
          "li",
          { testid: `help-${r.participantId}` },
          h("span", { class: "who" }, `${r.name} asks for help in ${roomName(state, r.roomId)} 请求帮助`),
          h(
            "span",
            { class: "row-actions" },
            h(
              "button",
              {
                type: "button",
                class: "row-button primary-small",
                testid: `help-join-${r.participantId}`,
                onclick: () => {
                  this.send({ type: "join_breakout", room_id: r.roomId });
                  this.dismissHelp(r.participantId);
                },
              },
              "Join 前往",
            ),
            h("button", { type: "button", class: "row-button", testid: `help-dismiss-${r.participantId}`, onclick: () => this.dismissHelp(r.participantId) }, "Dismiss 忽略"),
          ),
        ),
      ),
    );
  }

  private dismissHelp(participantId: string): void {
    this.help = this.help.filter((r) => r.participantId !== participantId);
    this.render();
    this.onHelp();
  }
}
