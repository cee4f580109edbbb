package cairn.console.api;

import static java.lang.annotation.ElementType.METHOD;
import static java.lang.annotation.ElementType.TYPE;
import static java.lang.annotation.RetentionPolicy.RUNTIME;

import java.lang.annotation.Documented;
import java.lang.annotation.Retention;
import java.lang.annotation.Target;

import cairn.platform.api.security.Role;

/**
 * The least role that may run a console function. On a method it applies to that
 * function; on the class, to every function without its own. Functions carrying
 * neither are admin-only, so nothing becomes reachable to viewers by omission.
 * Every function that needs more than {@link Role#VIEWER} is audited by the console,
 * unless it is marked {@link #readOnly()} or {@link #auditedByService()}.
 */
@Documented
@Retention(RUNTIME)
@Target({ METHOD, TYPE })
public @interface RequiredRole {

    Role value();

    /**
     * True for a function that changes nothing although it needs more than the viewer
     * role (reading logs); such calls are not audited.
     */
    boolean readOnly() default false;

    /**
     * True for a function whose service records every call in the audit log itself, with the
     * caller and its source (users, volumes): the console does not record it a second time.
     */
    boolean auditedByService() default false;
}
