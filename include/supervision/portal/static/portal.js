// The only script: the report's print button (inline handlers are blocked by the Content-Security-Policy).
document.addEventListener("DOMContentLoaded", function () {
  var b = document.getElementById("print");
  if (b) { b.addEventListener("click", function () { window.print(); }); }
});
