// The console's only script: copy buttons for pull references, and every <details> opened for printing.
document.addEventListener('click', function (event) {
  var button = event.target.closest('.copy-button');
  if (!button) {
    return;
  }
  var text = button.getAttribute('data-copy');
  var done = function () {
    button.classList.add('copied');
    setTimeout(function () { button.classList.remove('copied'); }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    var input = button.parentElement.querySelector('input');
    input.select();
    document.execCommand('copy');
    done();
  }
});
window.addEventListener('beforeprint', function () {
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
});
