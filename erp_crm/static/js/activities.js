// The completion form shows the parts the chosen result needs (all of them without JS).
(function () {
  const form = document.getElementById("complete-form");
  if (!form) return;
  const radios = form.querySelectorAll("input[data-result-kind]");
  const parts = form.querySelectorAll("[data-result-part]");
  function update() {
    const chosen = form.querySelector("input[data-result-kind]:checked");
    parts.forEach(function (part) {
      part.hidden = !chosen || part.dataset.resultPart !== chosen.value;
    });
  }
  radios.forEach(function (radio) { radio.addEventListener("change", update); });
  update();
})();
