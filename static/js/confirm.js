// Buttons that change what is deployed or decided ask first: a button (or its form) with
// data-confirm="..." shows that question, and Cancel leaves the page as it was.
// A script file, not inline code: the Content-Security-Policy allows only 'self' scripts.
document.addEventListener("click", function (event) {
  const button = event.target.closest("button[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
