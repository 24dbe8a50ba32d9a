// The "View" tab of a meeting-room terminal (room mode, F-CTL-9): tiles per
// gallery screen, and the custom view's order (moved up and down), how many
// share a screen and how often the screens rotate. Every change is applied
// at once through `changed`; the settings are kept for the next meeting.

import { h } from "./dom";
import { localProfile } from "./local_profile";
import { PER_SCREEN_CHOICES, ROOM_PAGE_SIZES, ROTATION_CHOICES, moveInSequence, type RoomViewSettings } from "./room_view";

export class RoomViewPanel {
  readonly root: HTMLElement;
  private settings: RoomViewSettings = localProfile.roomView();
  /** The custom view's fixed order, as last arranged here (participant ids). */
  private fixed: string[] = [];
  /** What the list shows now, to redraw it only when it changes. */
  private drawn = "";
  private sequence: string[] = [];
  private readonly orderList = h("ol", { class: "view-order", testid: "view-order" });

  constructor(private readonly changed: () => void) {
    this.root = h(
      "div",
      { class: "room-view" },
      h("h3", {}, "Gallery view 画廊视图"),
      labelled(
        "Tiles per screen 每屏画面数",
        choice("view-page-size", ROOM_PAGE_SIZES, this.settings.pageSize, String, (n) => this.set({ pageSize: n })),
      ),
      h("h3", {}, "Custom view 自定义视图"),
      labelled(
        "Participants per screen 每屏人数",
        choice("view-per-screen", PER_SCREEN_CHOICES, this.settings.perScreen, String, (n) => this.set({ perScreen: n })),
      ),
      labelled(
        "Rotate every 轮询间隔",
        choice("view-rotation", ROTATION_CHOICES, this.settings.rotationSeconds, (s) => (s === 0 ? "Off 关闭" : `${s} s 秒`), (s) =>
          this.set({ rotationSeconds: s }),
        ),
      ),
      h("p", { class: "muted" }, "Order 顺序"),
      this.orderList,
    );
  }

  /** What the layout needs. */
  view(): RoomViewSettings & { order: readonly string[] } {
    return { ...this.settings, order: this.fixed };
  }

  /** Shows the custom view's sequence now (ids with names). */
  render(sequence: readonly { id: string; name: string }[]): void {
    const drawn = JSON.stringify(sequence);
    if (drawn === this.drawn) return;
    this.drawn = drawn;
    this.sequence = sequence.map((p) => p.id);
    this.orderList.replaceChildren(
      ...sequence.map(({ id, name }, index) =>
        h(
          "li",
          { testid: `view-order-${id}` },
          h("span", { class: "view-order-name" }, name),
          h("button", { type: "button", class: "link-button", testid: `view-up-${id}`, title: "Earlier 上移", disabled: index === 0, onclick: () => this.move(id, -1) }, "↑"),
          h(
            "button",
            { type: "button", class: "link-button", testid: `view-down-${id}`, title: "Later 下移", disabled: index === sequence.length - 1, onclick: () => this.move(id, 1) },
            "↓",
          ),
        ),
      ),
    );
  }

  private move(id: string, step: -1 | 1): void {
    // The order shown becomes the fixed one, with the move applied.
    this.fixed = moveInSequence(this.sequence, id, step);
    this.changed();
  }

  private set(change: Partial<RoomViewSettings>): void {
    this.settings = { ...this.settings, ...change };
    localProfile.rememberRoomView(this.settings);
    this.changed();
  }
}

function labelled(text: string, control: HTMLElement): HTMLElement {
  return h("label", { class: "view-setting" }, h("span", {}, text), control);
}

function choice(testid: string, values: readonly number[], current: number, label: (n: number) => string, chosen: (n: number) => void): HTMLSelectElement {
  const select = h(
    "select",
    { testid },
    ...values.map((value) => h("option", { value: String(value), selected: value === current }, label(value))),
  );
  select.addEventListener("change", () => chosen(Number(select.value)));
  return select;
}
