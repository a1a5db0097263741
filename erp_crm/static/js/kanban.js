// The deals board (templates/deals/kanban.html): drag a card to another stage with SortableJS.
// The drop is POSTed as JSON to data-move-url with the CSRF token header; the answer carries the
// new column totals, or a refusal whose Russian message is shown while the card goes back.
(() => {
  "use strict";

  // The project and pipeline selects reload the board when changed.
  document.querySelectorAll("[data-kanban-filter] [data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });

  const board = document.querySelector("[data-kanban-board]");
  if (!board || typeof window.Sortable === "undefined") {
    return;
  }
  const moveUrl = board.dataset.moveUrl;
  const pipelineId = board.dataset.pipelineId;
  const alerts = document.getElementById("kanban-alerts");
  const sortables = [];

  const FALLBACK = {
    400: "Страница устарела: обновите её и повторите.",
    401: "Сессия истекла: войдите в систему снова.",
    403: "Недостаточно прав для этого действия.",
    404: "Сделка или этап не найдены: обновите страницу.",
    409: "Сделку изменили: обновите страницу.",
    422: "Переход на этот этап невозможен.",
    500: "Внутренняя ошибка сервера. Мы уже знаем о ней.",
  };

  function showAlert(message, kind) {
    const box = document.createElement("div");
    box.className = `alert alert-${kind} alert-dismissible fade show`;
    box.setAttribute("role", "alert");
    box.dataset.kanbanMessage = kind;
    const text = document.createElement("span");
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", "Закрыть");
    box.append(text, close);
    alerts.replaceChildren(box);
  }

  function clearAlert() {
    alerts.replaceChildren();
  }

  function setText(column, selector, value) {
    const node = column.querySelector(selector);
    if (node) {
      node.textContent = value;
    }
  }

  function updateTotals(columns) {
    (columns || []).forEach((totals) => {
      const column = board.querySelector(
        `[data-kanban-column][data-stage-id="${totals.stage_id}"]`,
      );
      if (!column) {
        return;
      }
      setText(column, "[data-column-count]", String(totals.count));
      setText(column, "[data-column-amount]", totals.amount_display);
      setText(column, "[data-column-area]", totals.area_display);
    });
  }

  function putBack(item, from, oldIndex) {
    item.remove();
    from.insertBefore(item, from.children[oldIndex] || null);
  }

  function setBusy(value) {
    sortables.forEach((sortable) => sortable.option("disabled", value));
  }

  function post(payload) {
    return window.postJson(moveUrl, payload, "deal", FALLBACK);
  }

  async function onEnd(event) {
    const { item, from, to, oldIndex, newIndex } = event;
    if (from === to && oldIndex === newIndex) {
      return;
    }
    clearAlert();
    setBusy(true);
    item.classList.add("kanban-saving");
    let result;
    try {
      result = await post({
        deal_id: Number(item.dataset.dealId),
        stage_id: Number(to.dataset.stageId),
        position: newIndex,
      });
    } catch (_error) {
      result = { ok: false, message: "Нет связи с сервером: карточка возвращена на место." };
    }
    item.classList.remove("kanban-saving");
    if (result.ok) {
      const deal = result.body.deal;
      item.dataset.stageId = String(deal.stage_id);
      const won = item.querySelector("[data-card-won]");
      if (won) {
        won.hidden = deal.outcome !== "won";
      }
      if (String(deal.pipeline_id) !== pipelineId) {
        item.remove(); // moved to another pipeline's stage: no longer on this board
      }
      updateTotals(result.body.columns);
    } else {
      putBack(item, from, oldIndex);
      showAlert(result.message, "danger");
    }
    setBusy(false);
  }

  board.querySelectorAll("[data-kanban-list]").forEach((list) => {
    sortables.push(
      window.Sortable.create(list, {
        group: "kanban",
        draggable: ".kanban-card",
        filter: ".kanban-card-locked",
        preventOnFilter: false, // links on locked cards stay clickable
        ghostClass: "kanban-ghost",
        animation: 150,
        onEnd,
      }),
    );
  });

  board.dataset.kanbanReady = "1"; // for the browser test: the lists are live
})();
