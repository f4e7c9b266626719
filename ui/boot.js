// Loads the console's modules from a classic script, so that a module that fails to load or to
// start says so on screen instead of leaving the start-up message up forever.
import('./main.js').catch((error) => {
  const boot = document.getElementById('boot');
  boot.textContent = `Vigil Console could not start: ${error && error.message ? error.message : error}`;
  boot.classList.add('boot-failed');
});
