/**
 * Contributing commands to the SSH console.
 *
 * <p>A command is a Gogo function: register any object as a service with the
 * properties {@code osgi.command.scope} and {@code osgi.command.function} (the
 * {@code @GogoCommand} component property type does that), describe methods and
 * parameters with Gogo's {@code @Descriptor} and {@code @Parameter}, and mark each
 * function with {@link cairn.console.api.RequiredRole}. A function without it is
 * admin-only. The console then, for every function:
 * <ul>
 * <li>refuses callers below the required role, with one clear line and a non-zero exit;</li>
 * <li>passes the authenticated {@link cairn.platform.api.security.Caller} when the
 *     method's first positional parameter is one (Gogo's order: an optional
 *     {@code CommandSession}, then the {@code @Parameter} options, then positional
 *     parameters);</li>
 * <li>audits every call of a function that needs more than the viewer role, unless the
 *     service behind it audits its calls itself ({@code auditedByService});</li>
 * <li>renders what the method returns: a table (lists of records), {@code key: value}
 *     lines (one record), or JSON when the user adds {@code --json};</li>
 * <li>prints a domain error ({@link cairn.platform.api.errors.CairnException},
 *     {@link IllegalArgumentException}) as its message, never a stack trace.</li>
 * </ul>
 * Function names may contain a dash ({@code key-add}); the method is the name without
 * dashes, matched case-insensitively ({@code keyAdd}). A command service that also
 * implements {@link cairn.console.api.ArgumentCompleter} offers tab completion of its
 * arguments.
 */
@Export
@Version("1.1.0")
package cairn.console.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
