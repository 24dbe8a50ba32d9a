// The webinar's Q&A (F-WEBINAR-1, 问答): everyone asks; the panel (host and
// panelists) answers publicly or privately, or dismisses. Each question is
// shown as the server last described it to this viewer (an attendee sees
// others' questions only once answered publicly).

import { h } from "./dom";
import type { ClientMessage, Question } from "./proto";
import { LIMITS } from "./proto";
import { questionOrder } from "./webinar";

export class QaPanel {
  readonly root: HTMLElement;
  private readonly questions = new Map<string, Question>();
  private readonly list = h("ol", { class: "qa-list", testid: "qa-list", "aria-label": "Questions 问题" });
  private readonly input = h("textarea", {
    testid: "qa-input",
    rows: 2,
    maxlength: String(LIMITS.question_chars),
    placeholder: "Ask the panel a question 向嘉宾提问",
    "aria-label": "Your question 您的问题",
  });
  private answers = false;
  private selfId = "";

  constructor(private readonly send: (message: ClientMessage) => void) {
    const ask = h("button", { class: "primary", type: "submit", testid: "qa-ask" }, "Ask 提问");
    const form = h("form", { class: "qa-form" }, this.input, ask);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.send({ type: "ask", text });
      this.input.value = "";
    });
    this.root = h("div", { class: "qa", testid: "qa-panel" }, this.list, form);
  }

  /** Whether this viewer answers (the panel) and who they are. */
  setViewer(selfId: string, answers: boolean): void {
    if (this.selfId === selfId && this.answers === answers) return;
    this.selfId = selfId;
    this.answers = answers;
    this.render();
  }

  add(question: Question): void {
    this.questions.set(question.id, question);
    this.render();
  }

  /** Questions still waiting for an answer (for the tab's badge). */
  open(): number {
    return [...this.questions.values()].filter((q) => !q.dismissed && q.answers.length === 0).length;
  }

  private render(): void {
    this.list.replaceChildren(...questionOrder([...this.questions.values()]).map((q) => this.item(q)));
  }

  private item(q: Question): HTMLElement {
    const state = q.dismissed ? "dismissed" : q.answers.length > 0 ? "answered" : "open";
    const mine = q.asker === this.selfId;
    return h(
      "li",
      { testid: `question-${q.id}`, "data-state": state, "data-public": String(q.public), class: `question ${state}` },
      h("div", { class: "asker" }, mine ? "You asked 我的提问" : `${q.asker_name} asked 提问`),
      h("div", { class: "text", testid: "question-text" }, q.text),
      ...q.answers.map((a) =>
        h(
          "div",
          { class: "answer", testid: "question-answer", "data-private": String(a.private) },
          h("strong", {}, `${a.by_name}: `),
          a.text,
          a.private ? h("span", { class: "tag" }, "Privately 私下回答") : null,
        ),
      ),
      q.dismissed ? h("div", { class: "tag" }, "Dismissed 已忽略") : null,
      this.answers ? this.answerForm(q) : null,
    );
  }

  private answerForm(q: Question): HTMLElement {
    const input = h("input", {
      testid: `answer-input-${q.id}`,
      maxlength: String(LIMITS.question_chars),
      placeholder: "Answer 回答",
      "aria-label": `Answer to ${q.asker_name} 回答`,
    });
    const answer = (priv: boolean) => () => {
      const text = input.value.trim();
      if (!text) return;
      this.send({ type: "answer_question", question_id: q.id, text, private: priv });
    };
    return h(
      "div",
      { class: "answer-form" },
      input,
      h("button", { type: "button", testid: `answer-public-${q.id}`, onclick: answer(false) }, "Answer publicly 公开回答"),
      h("button", { type: "button", testid: `answer-private-${q.id}`, onclick: answer(true) }, "Answer privately 私下回答"),
      q.dismissed
        ? null
        : h(
            "button",
            { type: "button", testid: `dismiss-${q.id}`, onclick: () => this.send({ type: "dismiss_question", question_id: q.id }) },
            "Dismiss 忽略",
          ),
    );
  }
}
