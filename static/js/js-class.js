/* Runs before first paint (templates/base.html): styles for "JavaScript is on" apply at once. */
document.documentElement.className = "js";
