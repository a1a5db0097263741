// The calendar of contacts (templates/calendar/index.html) with FullCalendar.
// Events come from data-events-url in the user's wall clock (ISO without an offset, read in the
// calendar's named timeZone: FullCalendar keeps such dates "UTC-coerced", so a Date's UTC fields
// are the wall clock). A drop or a resize is POSTed as JSON with the CSRF header; a refusal puts
// the event back and shows the Russian message. A click on an event opens its card, a click on an
// empty slot the plan form.
(() => {
  "use strict";

  document.querySelectorAll("[data-calendar-filter] [data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });

  const element = document.querySelector("[data-calendar]");
  if (!element || typeof window.FullCalendar === "undefined") {
    return;
  }
  const settings = element.dataset;
  const alerts = document.getElementById("calendar-alerts");
  const canPlan = settings.canPlan === "1";

  const FALLBACK = {
    400: "Страница устарела: обновите её и повторите.",
    401: "Сессия истекла: войдите в систему снова.",
    403: "Недостаточно прав для этого действия.",
    404: "Контакт не найден: обновите страницу.",
    409: "Контакт изменили: обновите страницу.",
    422: "Контакт нельзя перенести на это время.",
    500: "Внутренняя ошибка сервера. Мы уже знаем о ней.",
  };

  function showAlert(message, kind) {
    const box = document.createElement("div");
    box.className = `alert alert-${kind} alert-dismissible fade show`;
    box.setAttribute("role", "alert");
    box.dataset.calendarMessage = kind;
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

  // A FullCalendar date → the wall clock it stands for, "YYYY-MM-DDTHH:MM:SS".
  function wall(date) {
    return date.toISOString().slice(0, 19);
  }

  // Now on the user's wall clock, for the "today" highlight and the now line.
  function wallNow() {
    const parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: settings.timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date())
      .forEach((part) => {
        parts[part.type] = part.value;
      });
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
  }

  function post(url, payload) {
    return window.postJson(url, payload, "event", FALLBACK);
  }

  async function onChange(info) {
    const event = info.event;
    const node = info.el;
    alerts.replaceChildren();
    if (node) {
      node.classList.add("calendar-saving");
    }
    let result;
    try {
      result = await post(`${settings.eventsUrl}/${event.id}/move`, {
        start: wall(event.start),
        end: event.end ? wall(event.end) : null,
      });
    } catch (_error) {
      result = { ok: false, message: "Нет связи с сервером: контакт возвращён на место." };
    }
    if (node) {
      node.classList.remove("calendar-saving");
    }
    if (result.ok) {
      const saved = result.body.event;
      event.setDates(saved.start, saved.end);
      event.setProp("backgroundColor", saved.backgroundColor);
      event.setProp("borderColor", saved.borderColor);
      event.setProp("classNames", saved.classNames);
      element.dataset.calendarSaved = event.id; // for the browser test: the move is stored
    } else {
      info.revert();
      showAlert(result.message, "danger");
    }
  }

  const calendar = new window.FullCalendar.Calendar(element, {
    locale: "ru",
    timeZone: settings.timeZone,
    now: wallNow,
    initialView: settings.initialView || "timeGridWeek",
    initialDate: settings.initialDate || undefined,
    headerToolbar: {
      left: "prev,next today",
      center: "title",
      right: "timeGridDay,timeGridWeek,dayGridMonth",
    },
    height: "auto",
    nowIndicator: true,
    slotMinTime: "07:00:00",
    slotMaxTime: "22:00:00",
    scrollTime: "08:00:00",
    slotDuration: "00:30:00",
    snapDuration: "00:15:00",
    allDaySlot: false,
    dayMaxEvents: true,
    editable: false, // each event says whether it may be moved ("editable")
    eventDurationEditable: true,
    events: {
      url: settings.eventsUrl,
      extraParams: { user_id: settings.userId },
      failure: () => showAlert("Не удалось загрузить контакты: обновите страницу.", "danger"),
    },
    eventDrop: onChange,
    eventResize: onChange,
    eventDidMount: (info) => {
      const props = info.event.extendedProps;
      info.el.title = `${info.event.title} — ${props.status_label}`;
      info.el.dataset.activityId = info.event.id;
    },
    dateClick: (info) => {
      if (!canPlan) {
        return;
      }
      // a day of the month view has no time: plan for the morning
      const startsAt = info.allDay ? `${info.dateStr.slice(0, 10)}T09:00` : wall(info.date).slice(0, 16);
      window.location.assign(`${settings.newUrl}?starts_at=${encodeURIComponent(startsAt)}`);
    },
    loading: (busy) => {
      element.dataset.calendarLoading = busy ? "1" : "0";
    },
  });
  calendar.render();
  window.expoCalendar = calendar; // for the browser test and the console
  element.dataset.calendarReady = "1";
})();
