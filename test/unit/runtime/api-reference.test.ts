import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, PROBLEM_TYPES } from '#infra/openapi.ts';
import { renderApiReference } from '../../../local/runtime/api-reference.ts';

describe('renderApiReference', () => {
  it('lists each route with its authorization, body example and answers', () => {
    // Act
    const html = renderApiReference(buildOpenApiDocument());

    // Assess
    const placeOrder = html.slice(
      html.indexOf('<section class="operation" id="postOrders">'),
    );
    const section = placeOrder.slice(0, placeOrder.indexOf('</section>'));
    expect(section).toContain('<code>Idempotency-Key</code>');
    expect(section).toContain('&quot;customerId&quot;: &quot;cust-42&quot;');
    for (const status of ['201', '202', '400', '409', '415', '422', '503']) {
      expect(section, status).toContain(`>${status}</td>`);
    }
    expect(section).toContain('<code>/problems/order-exists</code>');
    expect(section).toContain('when the stage configures it');
    const admin = html.slice(html.indexOf('id="getDeadLetters"'));
    expect(admin.slice(0, admin.indexOf('</section>'))).toContain(
      'href="#security-awsSigv4"',
    );
  });

  it('describes every problem type a route answers', () => {
    // Act
    const html = renderApiReference(buildOpenApiDocument());

    // Assess
    for (const slug of Object.keys(PROBLEM_TYPES)) {
      expect(html, slug).toContain(`<code>/problems/${slug}</code>`);
    }
  });

  it('escapes what the document says, so no text becomes markup', () => {
    // Prepare
    const document = buildOpenApiDocument();
    const hostile = {
      ...document,
      info: {
        ...document.info,
        description: '<script>alert(1)</script> & "x"',
      },
    };

    // Act
    const html = renderApiReference(hostile);

    // Assess
    expect(html).not.toContain('<script>');
    expect(html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;',
    );
  });
});
