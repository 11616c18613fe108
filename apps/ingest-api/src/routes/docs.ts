/**
 * /openapi.json and /docs. The document is built from the route table (routes/index.ts
 * passes it in, which keeps this module out of an import cycle); /docs is swagger-ui
 * served from swagger-ui-dist in node_modules, so it works on a box with no network.
 */
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { defineRoute } from '../route-table';
import { ApiError } from '../errors';

/** The files of swagger-ui-dist the page loads; nothing else of the package is served. */
const ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png'] as const;
const ASSET_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ledgerline API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head><body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
</script></body></html>
`;

export function docsRoutes(documentJson: () => string) {
  return [
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      summary: 'This document',
      public: true,
      responses: { 200: { description: 'OpenAPI 3.1', contentTypes: ['application/json'] } },
      handle: (_ctx, { res }) => {
        res.type('application/json').send(documentJson());
      },
    }),

    defineRoute({
      method: 'get',
      path: '/docs',
      summary: 'This document, rendered by swagger-ui',
      public: true,
      responses: { 200: { description: 'HTML', contentTypes: ['text/html'] } },
      handle: (_ctx, { res }) => {
        res.type('html').send(DOCS_HTML);
      },
    }),

    defineRoute({
      method: 'get',
      path: '/docs/assets/{file}',
      summary: 'The files of swagger-ui that /docs loads',
      public: true,
      params: z.object({ file: z.enum(ASSETS) }).strict(),
      responses: {
        200: { description: 'A stylesheet, script or icon (Cache-Control: public, max-age=86400; Last-Modified)', contentTypes: ['text/css', 'text/javascript', 'application/javascript', 'image/png'] },
        304: { description: 'Not Modified: the If-Modified-Since sent holds (no body)' },
      },
      errors: [412],
      handle: (_ctx, { req, res, params }) =>
        new Promise<void>((resolve, reject) => {
          // `If-Match: *` holds whenever the file exists (RFC 9110, 13.1.1); `send`, with no
          // ETag to compare (they are off), failed it: a 412 for a file that is there (an
          // outside review). Every file this route names exists.
          if (req.headers['if-match']?.trim() === '*') delete req.headers['if-match'];
          // Cached for a day: the files change only with the package version. A Range is
          // ignored (the whole file, 200: a few hundred KiB at most); a precondition that
          // does not hold is 412, where `send`'s own error became a 500.
          res.sendFile(join(ASSET_DIR, params.file), { maxAge: 86_400_000, acceptRanges: false }, (error?: NodeJS.ErrnoException & { status?: number }) => {
            if (!error) return resolve();
            if (error.status === 412) return reject(new ApiError(412, 'PRECONDITION_FAILED', 'If-Match or If-Unmodified-Since does not hold for this file'));
            // The client went away (before or during the file): nobody to answer, as express
            // itself ignores these when no callback is given.
            if (res.headersSent || error.code === 'ECONNABORTED' || error.syscall === 'write') return resolve();
            reject(error);
          });
        }),
    }),
  ];
}
