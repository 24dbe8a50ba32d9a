// The console's Departments tab: the enterprise's department tree (each
// with the number of people directly in it), a form to create one under a
// chosen parent, Rename, Delete (refused by the server while it has
// sub-departments or members) and the people of one department.

import { askText } from "./ask_dialog";
import { api } from "./api";
import { Feedback, button, confirmAction, section, type ConsoleContext, type ConsoleTab } from "./console_ui";
import { h } from "./dom";
import { t } from "./i18n";
import type { Department, DirectoryEntry } from "./proto";
import { LIMITS } from "./proto";

/** A department with the ones below it, for drawing the tree. */
interface Branch {
  department: Department;
  children: Branch[];
}

/** The tree of `departments`: a department whose parent is not listed sits at the top. */
function buildTree(departments: Department[]): Branch[] {
  const branches = new Map(departments.map((d) => [d.id, { department: d, children: [] as Branch[] }]));
  const top: Branch[] = [];
  for (const branch of branches.values()) {
    const parent = branch.department.parent_id ? branches.get(branch.department.parent_id) : undefined;
    (parent ? parent.children : top).push(branch);
  }
  const byName = (a: Branch, b: Branch) => a.department.name.localeCompare(b.department.name);
  const sort = (list: Branch[]): Branch[] => list.sort(byName).map((b) => ({ ...b, children: sort(b.children) }));
  return sort(top);
}

/** Every department in tree order with its depth, for the parent select. */
function flatten(branches: Branch[], depth = 0): { department: Department; depth: number }[] {
  return branches.flatMap((b) => [{ department: b.department, depth }, ...flatten(b.children, depth + 1)]);
}

export function departmentsTab(ctx: ConsoleContext): ConsoleTab {
  return new DepartmentsTab(ctx);
}

class DepartmentsTab implements ConsoleTab {
  readonly root: HTMLElement;
  private readonly feedback: Feedback;
  private readonly name = h("input", { testid: "department-name", required: true, maxlength: String(LIMITS.department_chars), autocomplete: "off" });
  private readonly parent = h("select", { testid: "department-parent" });
  private readonly tree = h("ul", { class: "department-tree", testid: "department-tree", role: "tree", "aria-busy": "true" });
  private readonly members = h("section", { class: "console-section department-members", testid: "department-members" });

  constructor(private readonly ctx: ConsoleContext) {
    this.feedback = new Feedback(ctx, "departments");
    this.tree.setAttribute("aria-label", t("departments.tree"));
    this.members.hidden = true;
    this.root = h(
      "div",
      { class: "console-tab-body", testid: "departments-tab" },
      ...this.feedback.nodes(),
      section(t("departments.new"), this.form()),
      section(t("departments.tree"), this.tree),
      this.members,
    );
    void this.load();
  }

  private form(): HTMLFormElement {
    return h(
      "form",
      { class: "console-form", testid: "department-form", onsubmit: (event: Event) => (event.preventDefault(), void this.create()) },
      h("label", { class: "field" }, h("span", {}, t("departments.name")), this.name),
      h("label", { class: "field" }, h("span", {}, t("departments.parent")), this.parent),
      h("button", { type: "submit", class: "primary console-button", testid: "department-create" }, t("departments.create")),
    );
  }

  private async load(): Promise<void> {
    await this.feedback.run(async () => this.draw(await api.departments(this.ctx.token)));
    this.tree.setAttribute("aria-busy", "false");
  }

  private draw(departments: Department[]): void {
    const tree = buildTree(departments);
    this.tree.replaceChildren(...(tree.length ? tree.map((b) => this.branch(b)) : [h("li", { class: "empty", testid: "no-departments" }, t("departments.none"))]));
    this.drawParents(tree);
  }

  private drawParents(tree: Branch[]): void {
    const chosen = this.parent.value;
    this.parent.replaceChildren(
      h("option", { value: "" }, t("departments.topLevel")),
      ...flatten(tree).map(({ department, depth }) => h("option", { value: department.id }, `${"\u00a0\u00a0".repeat(depth)}${department.name}`)),
    );
    this.parent.value = [...this.parent.options].some((o) => o.value === chosen) ? chosen : "";
  }

  private branch({ department: d, children }: Branch): HTMLLIElement {
    return h(
      "li",
      { role: "treeitem", testid: `department-${d.id}`, "data-parent": d.parent_id ?? "", "data-members": d.members, "aria-label": d.name },
      h(
        "div",
        { class: "console-item" },
        h(
          "div",
          { class: "console-item-info" },
          h("strong", { testid: `department-label-${d.id}` }, d.name),
          h("span", { class: "muted", testid: `department-count-${d.id}` }, t("departments.memberCount", { count: d.members })),
        ),
        h(
          "div",
          { class: "item-actions" },
          button(t("departments.showMembers"), `department-show-${d.id}`, () => void this.showMembers(d)),
          button(t("departments.rename"), `department-rename-${d.id}`, () => void this.rename(d)),
          button(t("departments.delete"), `department-delete-${d.id}`, () => void this.remove(d)),
        ),
      ),
      children.length ? h("ul", { role: "group" }, ...children.map((c) => this.branch(c))) : null,
    );
  }

  private async create(): Promise<void> {
    const name = this.name.value.trim();
    if (!name) return;
    const ok = await this.feedback.run(async () => {
      await api.createDepartment(this.ctx.token, { name, parent_id: this.parent.value || null });
    });
    if (!ok) return;
    this.name.value = "";
    await this.load();
    this.feedback.done(t("departments.created", { name }));
  }

  private async rename(d: Department): Promise<void> {
    const name = await askText({
      testid: "rename-department",
      title: t("departments.renameTitle", { name: d.name }),
      label: t("departments.name"),
      value: d.name,
      maxLength: LIMITS.department_chars,
      confirm: t("common.save"),
    });
    if (!name || name === d.name) return;
    if (await this.feedback.run(() => api.updateDepartment(this.ctx.token, d.id, { name, parent_id: d.parent_id }).then(() => this.feedback.done()))) {
      await this.load();
    }
  }

  private async remove(d: Department): Promise<void> {
    const yes = await confirmAction("confirm-delete-department", t("departments.deleteTitle", { name: d.name }), t("departments.deleteText"), t("departments.delete"));
    if (!yes) return;
    if (await this.feedback.run(() => api.deleteDepartment(this.ctx.token, d.id).then(() => this.feedback.done()))) {
      if (this.members.dataset.department === d.id) this.members.hidden = true;
      await this.load();
    }
  }

  private async showMembers(d: Department): Promise<void> {
    await this.feedback.run(async () => {
      const people = await api.departmentMembers(this.ctx.token, d.id);
      this.members.dataset.department = d.id;
      this.members.replaceChildren(h("h2", {}, t("departments.membersOf", { name: d.name })), memberList(people));
      this.members.hidden = false;
    });
  }
}

function memberList(people: DirectoryEntry[]): HTMLUListElement {
  const items = people.map((p) =>
    h("li", { class: "console-item", testid: `department-member-${p.id}` }, h("strong", {}, p.display_name), p.email ? h("span", { class: "muted" }, p.email) : null),
  );
  return h("ul", { class: "console-list", testid: "department-member-list" }, ...(items.length ? items : [h("li", { class: "empty" }, t("departments.noMembers"))]));
}
