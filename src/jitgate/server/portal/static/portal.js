// jitgate User Portal: progressive enhancement only; every page works without this file.
// Marks the document as scripted, so controls meant for pages without JavaScript hide.
document.documentElement.classList.add("js");
