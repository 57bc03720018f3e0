// @ts-check
/**
 * Types shared by the views (JSDoc only: nothing here at run time).
 * @module types
 */

/**
 * What our views read from their render props: anywidget's `RenderProps` less `signal`, `host` and
 * `experimental`, which a composed view (the explorer's sub-views, a saved page) is not given and
 * anywidget < 0.10 does not pass: each view makes its own AbortController instead.
 * @template {Record<string, any>} [T=Record<string, any>]
 * @typedef {Pick<import("@anywidget/types").RenderProps<T>, "model" | "el">} ViewProps
 */

/**
 * A view's render: draws into `el` and returns its teardown. Assignable to anywidget's `Render<T>`.
 * @template {Record<string, any>} [T=Record<string, any>]
 * @typedef {(props: ViewProps<T>) => (() => void) | Promise<() => void>} View
 */

/**
 * A buffer trait as it arrives (docs/payload.md): `{dtype, shape, view}` from the kernel, or
 * `{dtype, shape, b64, compression?}` in a saved page; `{}` when absent.
 * @typedef {{ dtype?: string, shape?: number[], layout?: string, view?: DataView | ArrayBuffer | ArrayBufferView,
 *   b64?: string, compression?: string }} BufferTrait
 */

/**
 * The model a view is given, typed by its traits: anywidget's `AnyModel<T>`. A view whose model is
 * `any` or untyped fails `npm run typecheck` (noImplicitAny) and js/test/types.test.js.
 * @template {Record<string, any>} T
 * @typedef {import("@anywidget/types").AnyModel<T>} Model
 */

/**
 * What the kit's adapters (facade, head data, buffer caches, plot life cycle) need of a model they
 * serve for any view: trait access by name and events. A view itself is typed by its traits
 * ({@link Model}); the adapters hand it on unchanged.
 * @typedef {{ get(name: string): any, set(name: string, value: any): void, save_changes(): void,
 *   on(event: string, cb: Function, ctx?: any): void, off(event?: string | null, cb?: Function): void,
 *   send?: (...args: any[]) => void, widget_manager?: any, __iwReal?: any }} ModelLike
 */

export {};
