// What every page script needs: its data block and its messages.

/** The page's JSON data block ({lang, messages, ...page fields}). */
export function pageData() {
  return JSON.parse(document.getElementById("page-data").textContent);
}

/** A message lookup for `messages`: t("key", {name: value}) fills "{name}" placeholders. */
export function translator(messages) {
  return (key, params = {}) =>
    (messages[key] ?? key).replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}
