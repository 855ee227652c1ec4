/**
 * The admin page's HTML. A string here rather than an .html import: Bun
 * treats imported HTML as an app to bundle, and this page is a static shell
 * that loads /admin/assets/admin.js and admin.css.
 */
export const ADMIN_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Event Store admin</title>
<link rel="stylesheet" href="/admin/assets/admin.css">
<script type="module" src="/admin/assets/admin.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <h1><a href="#/topics">Event Store</a></h1>
  <nav aria-label="Sections">
    <a href="#/topics" data-nav="topics">Topics</a>
    <a href="#/consumers" data-nav="consumers">Consumers</a>
    <a href="#/health" data-nav="health">Health &amp; metrics</a>
  </nav>
  <button type="button" id="sign-out" hidden>Forget token</button>
</header>
<main id="main" tabindex="-1">
  <p class="muted">Loading…</p>
</main>
<div id="status" role="status" aria-live="polite" class="toast" hidden></div>
</body>
</html>
`;
