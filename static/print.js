// « Imprimer » on the recovery codes page: the button is hidden until this
// script runs (the page says how to print without it).
(function () {
  var button = document.getElementById('print');
  if (!button) return;
  button.hidden = false;
  button.addEventListener('click', function () { window.print(); });
})();
