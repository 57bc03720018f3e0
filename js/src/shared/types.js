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

export {};
