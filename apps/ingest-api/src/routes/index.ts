/**
 * THE route table: every route the API serves, in the order express tries them. Add a
 * route to one of the modules listed here (or a new module, listed here); see
 * route-table.ts for how to declare one.
 */
import { openApiDocument } from '../openapi';
import type { Route } from '../route-table';
import { accountRoutes } from './accounts';
import { batchRoutes } from './batch';
import { docsRoutes } from './docs';
import { holdRoutes } from './holds';
import { opsRoutes } from './ops';
import { transferRoutes } from './transfers';

let documentJson: string | undefined;

export const ROUTES: readonly Route[] = [
  ...accountRoutes,
  ...transferRoutes,
  ...batchRoutes,
  ...holdRoutes,
  ...opsRoutes,
  ...docsRoutes(() => (documentJson ??= JSON.stringify(apiDocument()))),
];

/** The OpenAPI document of ROUTES. */
export function apiDocument() {
  return openApiDocument(ROUTES);
}
